// Scenario "dump-restore": freezedry's checkpoint() and restore() against the criu CLI, on a
// tiny process and on a 1 GiB one. Both tools work on the same process, in turns: each restore
// hands the process to the other tool's next dump, so they see the same memory.
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkpoint, restore, run } from '../../lib/index.js';
import { compare, compileWorkload, criuBinary, exec, gone, timed, waitReady, type Comparison, type Measurement } from '../harness.js';

interface Workload {
  name: string;
  command: string[];
  repeats: number;
  dumpTarget: { describe: string; met: (c: Omit<Comparison, 'met' | 'target'>) => boolean };
}




export async function dumpRestoreScenario(options: { quick?: boolean } = {}): Promise<{ comparisons: Comparison[]; measurements: Measurement[] }> {
  const criu = criuBinary();
  const memhog = await compileWorkload('memhog');
  const workloads: Workload[] = [
    {
      name: 'tiny process',
      command: [memhog, '1'],
      repeats: options.quick ? 3 : 9,
      dumpTarget: { describe: '≤ +10 ms', met: (c) => c.difference <= 10 },
    },
    {
      name: '1 GiB process',
      command: [memhog, options.quick ? '256' : '1024'],
      repeats: options.quick ? 1 : 7,
      dumpTarget: { describe: '≤ 1.05×', met: (c) => c.ratio <= 1.05 },
    },
  ];
  const base = path.join(os.tmpdir(), `freezedry-bench-${process.pid}`);
  const comparisons: Comparison[] = [];
  const measurements: Measurement[] = [];

  for (const workload of workloads) {
    const m = (tool: string, what: string): Measurement => ({ scenario: 'dump-restore', case: `${what} ${workload.name}`, tool, samples: [], unit: 'ms' });
    const ours = { dump: m('freezedry', 'dump'), restore: m('freezedry', 'restore') };
    const peer = { dump: m('criu CLI', 'dump'), restore: m('criu CLI', 'restore') };
    const logFile = path.join(base, `${workload.name.replace(/\W+/g, '-')}.log`);
    let pid = (await run(workload.command, { logFile })).pid;
    await waitReady(logFile);

    for (let r = 0; r < workload.repeats; r++) {
      // Alternate which tool goes first, so neither always meets a cold or warm cache.
      const order = r % 2 === 0 ? ['criu', 'freezedry'] : ['freezedry', 'criu'];
      for (const tool of order) {
        const dir = path.join(base, `${tool}-${r}`);
        if (tool === 'criu') {
          await exec('mkdir', ['-p', dir]);
          const [dumpMs] = await timed(() => exec(criu, ['dump', '-t', String(pid), '-D', dir, '-o', 'dump.log', '-v2']));
          await gone(pid);
          const pidfile = path.join(dir, 'restored.pid');
          const [restoreMs] = await timed(() => exec(criu, ['restore', '-D', dir, '-d', '-o', 'restore.log', '-v2', '--pidfile', pidfile]));
          pid = Number(await readFile(pidfile, 'utf8'));
          peer.dump.samples.push(dumpMs);
          peer.restore.samples.push(restoreMs);
        } else {
          const [dumpMs] = await timed(() => checkpoint(pid, { imagesDir: dir }));
          await gone(pid);
          const [restoreMs, restored] = await timed(() => restore({ imagesDir: dir }));
          pid = restored.pid;
          ours.dump.samples.push(dumpMs);
          ours.restore.samples.push(restoreMs);
        }
        await rm(dir, { recursive: true, force: true });
      }
    }
    process.kill(pid, 'SIGKILL');
    measurements.push(ours.dump, peer.dump, ours.restore, peer.restore);
    comparisons.push(compare(ours.dump, peer.dump, workload.dumpTarget));
    comparisons.push(compare(ours.restore, peer.restore, workload.dumpTarget));
  }
  await rm(base, { recursive: true, force: true });
  return { comparisons, measurements };
}
