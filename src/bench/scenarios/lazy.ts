// Scenario "lazy": restores of a Node service against memory size, with the page cache warm or
// dropped before each (a restore on another host, or after a reboot, reads cold images):
// the restore call's time and the time until the service answers, for a full restore (freezedry
// and `criu restore`), a lazy restore from a directory and from an archive, and `criu lazy-pages`
// with `criu restore --lazy-pages`; and how long each lazy restore's background fill takes.
import { startChild } from '../../process/child.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkpoint, restore, run } from '../../index.js';
import {
  compare,
  criuBinary,
  dropCaches,
  eachPart,
  endTree,
  exec,
  gone,
  memoryAxis,
  packageRoot,
  ping,
  rotation,
  servicePort,
  sizeLabel,
  targetFor,
  untilAnswers,
  type BenchOptions,
  type Comparison,
  type Measurement,
  type PartFailure,
  type ScenarioResult,
} from '../harness.js';

const service = path.join(packageRoot, 'lib', 'demo', 'state-service.js');
const TOOLS = ['criu restore', 'freezedry restore', 'freezedry lazy restore', 'criu lazy-pages', 'freezedry lazy restore from archive'] as const;
type Tool = (typeof TOOLS)[number];

async function startService(mib: number, port: number, logFile: string): Promise<number> {
  const { pid } = await run([process.execPath, service, '--port', String(port), '--mb', String(mib)], { logFile });
  for (let i = 0; i < 6000 && !(await ping(port)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return pid;
}

export async function lazyScenario(options: BenchOptions): Promise<ScenarioResult> {
  const criu = criuBinary();
  const repeats = options.repeats ?? (options.quick ? 1 : 5);
  const base = path.join(os.tmpdir(), `freezedry-bench-lazy-${process.pid}`);
  await mkdir(base, { recursive: true });
  const comparisons: Comparison[] = [];
  const measurements: Measurement[] = [];
  const notes: string[] = [];
  const port = servicePort();

  const failures: PartFailure[] = [];
  await eachPart(options.sizes, sizeLabel, failures, async (mib) => {
    const label = sizeLabel(mib);
    let pid = await startService(mib, port, path.join(base, `service-${mib}.log`));
    const dir = path.join(base, `images-${mib}`);
    await checkpoint(pid, { imagesDir: dir });
    const file = path.join(base, `service-${mib}.tar.zst`);
    await gone(pid);
    // The archive comes from the same process state: restore it, dump it again.
    pid = (await restore({ imagesDir: dir })).pid;
    await checkpoint(pid, { archive: file });
    await gone(pid);

    for (const cache of options.cache) {
      const m = (tool: string, metric: string): Measurement => ({
        scenario: 'lazy',
        case: `${metric}, ${label} Node service, ${cache} cache`,
        tool,
        samples: [],
        unit: 'ms',
        metric,
        x: memoryAxis(mib),
        cache,
      });
      const answers = new Map(TOOLS.map((t) => [t, m(t, 'time until the restored service answers')]));
      const calls = new Map(TOOLS.map((t) => [t, m(t, 'restore call time')]));
      const fills = new Map<Tool, Measurement>(TOOLS.filter((t) => t !== 'criu restore' && t !== 'freezedry restore').map((t) => [t, m(t, 'background fill after the restore')]));

      for (let r = 0; r < repeats; r++) {
        for (const [i, tool] of rotation(TOOLS, r).entries()) {
          options.progress.sample(`restore ${label}, ${cache} cache: ${tool}`, r * TOOLS.length + i + 1, repeats * TOOLS.length);
          if (cache === 'cold') await dropCaches();
          const times = await restoreOnce(tool, r);
          answers.get(tool)?.samples.push(times.answered);
          calls.get(tool)?.samples.push(times.returned);
          if (times.filled !== undefined) fills.get(tool)?.samples.push(times.filled);
        }
      }
      const get = (table: Map<Tool, Measurement>, tool: Tool) => table.get(tool) as Measurement;
      measurements.push(...answers.values(), ...calls.values(), ...fills.values());
      measurements.push(targetFor(get(answers, 'criu restore'), 0.1, '≤ 0.1× criu restore'));
      comparisons.push(
        compare(get(answers, 'freezedry lazy restore'), get(answers, 'criu restore'), { describe: '≤ 0.1×', met: (c) => c.ratio <= 0.1 }),
        compare(get(answers, 'freezedry lazy restore'), get(answers, 'criu lazy-pages'), { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }),
        compare(get(answers, 'freezedry lazy restore from archive'), get(answers, 'freezedry lazy restore'), { describe: '≤ 1.3×', met: (c) => c.ratio <= 1.3 }),
        compare(get(answers, 'freezedry restore'), get(answers, 'criu restore'), { describe: '≤ 1.05×', met: (c) => c.ratio <= 1.05 }),
        compare(get(fills, 'freezedry lazy restore'), get(fills, 'criu lazy-pages'), { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }),
        compare(get(fills, 'freezedry lazy restore from archive'), get(fills, 'criu lazy-pages'), { describe: 'reported', met: () => true }),
      );
    }
    await rm(dir, { recursive: true, force: true });
    await rm(file, { force: true });

    /**
     * One restore by `tool`, the service ended after. returned: until the restore call (or
     * command) returned; answered: until the service answered; filled: the background fill,
     * from the restore's return to the last page in.
     */
    async function restoreOnce(tool: Tool, r: number): Promise<{ returned: number; answered: number; filled?: number }> {
      const start = performance.now();
      if (tool === 'criu restore') {
        const pidfile = path.join(base, 'full.pid');
        await rm(pidfile, { force: true }); // criu refuses to overwrite a pidfile
        await exec(criu, ['restore', '-D', dir, '-d', '-o', 'restore-full.log', '--pidfile', pidfile]);
        const returned = performance.now() - start;
        await untilAnswers(port);
        const answered = performance.now() - start;
        await endTree(Number(await readFile(pidfile, 'utf8')));
        return { returned, answered };
      }
      if (tool === 'criu lazy-pages') {
        const work = path.join(base, `criu-lazy-${r}`);
        await mkdir(work, { recursive: true });
        // Timed from the daemon's start: it is half of this restore, as freezedry's server is of its own.
        const begun = performance.now();
        const daemonDone = startChild([criu, 'lazy-pages', '-D', dir, '-W', work, '-o', 'lazy-pages.log']).exited;
        while (!existsSync(path.join(work, 'lazy-pages.socket'))) await new Promise((resolve) => setTimeout(resolve, 2));
        const lazyPid = path.join(work, 'restored.pid');
        await exec(criu, ['restore', '-D', dir, '-W', work, '--lazy-pages', '-d', '-o', 'restore.log', '--pidfile', lazyPid]);
        const restoredAt = performance.now();
        await untilAnswers(port);
        const answered = performance.now() - begun;
        await daemonDone;
        const filled = performance.now() - restoredAt;
        await endTree(Number(await readFile(lazyPid, 'utf8')));
        await rm(work, { recursive: true, force: true });
        return { returned: restoredAt - begun, answered, filled };
      }
      const lazy = tool !== 'freezedry restore';
      const source = tool === 'freezedry lazy restore from archive' ? { archive: file } : { imagesDir: dir };
      const restored = await restore({ ...source, lazy });
      const returnedAt = performance.now();
      const filledAt = restored.lazy?.fill.then(() => performance.now());
      await untilAnswers(port);
      const answered = performance.now() - start;
      const filled = filledAt ? (await filledAt) - returnedAt : undefined;
      await endTree(restored.pid);
      return { returned: returnedAt - start, answered, filled };
    }
  });
  await rm(base, { recursive: true, force: true });
  return { comparisons, measurements, notes, failures };
}
