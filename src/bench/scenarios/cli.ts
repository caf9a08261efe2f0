// Scenario "cli": freezedry as an operator meets it, each command timed as a whole process
// from its start: `freezedry --version` against `node -e 0`, `freezedry dump --leave-running`
// of a sleeping process against `criu dump`, and `freezedry restore --lazy` of a Node service
// until it answers, against a full `criu restore` of the same images (cache warm or cold).
import { startChild } from '../../process/child.js';
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkpoint, run } from '../../index.js';
import {
  compare,
  compileWorkload,
  criuBinary,
  dropCaches,
  endTree,
  exec,
  gone,
  freezedryCommand as cli,
  packageRoot,
  ping,
  rotation,
  servicePort,
  sizeLabel,
  timed,
  untilAnswers,
  waitReady,
  type BenchOptions,
  type Comparison,
  type Measurement,
  type ScenarioResult,
} from '../harness.js';

const service = path.join(packageRoot, 'lib', 'demo', 'state-service.js');

export async function cliScenario(options: BenchOptions): Promise<ScenarioResult> {
  const criu = criuBinary();
  const repeats = options.repeats ?? (options.quick ? 5 : 15);
  const base = path.join(os.tmpdir(), `freezedry-bench-cli-${process.pid}`);
  await mkdir(base, { recursive: true });
  const measurements: Measurement[] = [];
  const comparisons: Comparison[] = [];
  const m = (tool: string, what: string): Measurement => ({ scenario: 'cli', case: what, tool, samples: [], unit: 'ms' });
  try {
    // Start-up alone. Where NODE_EXTRA_CA_CERTS is set, node reads it as it starts and
    // freezedry's launcher does not: node is then measured without it as well.
    const version = m('freezedry --version', 'start-up, a whole process');
    const node = m('node -e 0', 'start-up, a whole process');
    const caCerts = process.env.NODE_EXTRA_CA_CERTS !== undefined;
    const bareNode = m('node -e 0, NODE_EXTRA_CA_CERTS unset', 'start-up, a whole process');
    const withoutCaCerts = { ...process.env };
    delete withoutCaCerts.NODE_EXTRA_CA_CERTS;
    for (let r = 0; r < repeats; r++) {
      options.progress.sample('freezedry --version, node -e 0', r + 1, repeats);
      for (const tool of rotation(caCerts ? ['freezedry', 'node', 'bare node'] : ['freezedry', 'node'], r)) {
        if (tool === 'freezedry') version.samples.push((await timed(() => exec(cli, ['--version'])))[0]);
        else if (tool === 'node') node.samples.push((await timed(() => exec(process.execPath, ['-e', '0'])))[0]);
        else bareNode.samples.push((await timed(() => exec(process.execPath, ['-e', '0'], { env: withoutCaCerts })))[0]);
      }
    }
    measurements.push(version, node);
    comparisons.push(compare(version, node, { describe: '≤ 1.3×', met: (c) => c.ratio <= 1.3 }));
    if (caCerts) {
      measurements.push(bareNode);
      comparisons.push(compare(version, bareNode));
    }

    // A dump of a sleeping process that runs on, as a command.
    const memhog = await compileWorkload('memhog');
    const logFile = path.join(base, 'sleeper.log');
    const { pid } = await run([memhog, '1'], { logFile });
    await waitReady(logFile);
    const ours = m('freezedry dump -D --leave-running', 'dump of a sleeping process, the whole command');
    const peer = m('criu dump --leave-running', 'dump of a sleeping process, the whole command');
    for (let r = 0; r < repeats; r++) {
      options.progress.sample('freezedry dump, criu dump', r + 1, repeats);
      for (const tool of rotation(['freezedry', 'criu'], r)) {
        const dir = path.join(base, `dump-${r}-${tool}`);
        await mkdir(dir);
        if (tool === 'freezedry') ours.samples.push((await timed(() => exec(cli, ['dump', String(pid), '-D', dir, '--leave-running'])))[0]);
        else peer.samples.push((await timed(() => exec(criu, ['dump', '-t', String(pid), '-D', dir, '--leave-running', '-o', 'dump.log'])))[0]);
        await rm(dir, { recursive: true, force: true });
      }
    }
    await endTree(pid);
    measurements.push(ours, peer);
    comparisons.push(compare(ours, peer, { describe: '≤ 2.5×', met: (c) => c.ratio <= 2.5 }));

    // A lazy restore through the command line, until the service answers.
    const mib = options.sizes.includes(1024) ? 1024 : Math.min(...options.sizes);
    const port = servicePort();
    const servicePid = (await run([process.execPath, service, '--port', String(port), '--mb', String(mib)], { logFile: path.join(base, 'service.log') })).pid;
    for (let i = 0; i < 6000 && !(await ping(port)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const images = path.join(base, 'service-images');
    await checkpoint(servicePid, { imagesDir: images });
    await gone(servicePid);
    const restoreRepeats = options.repeats ?? (options.quick ? 2 : 5);
    for (const cache of options.cache) {
      const what = `restore of a ${sizeLabel(mib)} Node service until it answers, the whole command, ${cache} cache`;
      const lazy = m('freezedry restore --lazy', what);
      const full = m('criu restore', what);
      for (let r = 0; r < restoreRepeats; r++) {
        options.progress.sample(`restore through the CLI, ${cache} cache`, r + 1, restoreRepeats);
        for (const tool of rotation(['freezedry', 'criu'], r)) {
          if (cache === 'cold') await dropCaches();
          if (tool === 'freezedry') {
            const start = performance.now();
            // The command serves the pages until all are in: it is timed until the service answers.
            const command = startChild([cli, 'restore', '-D', images, '--lazy', '--json']);
            await untilAnswers(port);
            lazy.samples.push(performance.now() - start);
            await command.exited;
            const restoredPid = (JSON.parse(command.stdout()) as { pid: number }).pid;
            await endTree(restoredPid);
          } else {
            const pidfile = path.join(base, 'full.pid');
            await rm(pidfile, { force: true });
            const start = performance.now();
            await exec(criu, ['restore', '-D', images, '-d', '-o', 'restore.log', '--pidfile', pidfile]);
            await untilAnswers(port);
            full.samples.push(performance.now() - start);
            const restoredPid = Number(await readFile(pidfile, 'utf8'));
            await endTree(restoredPid);
          }
        }
      }
      measurements.push(lazy, full);
      comparisons.push(compare(lazy, full, { describe: '≤ 0.1×', met: (c) => c.ratio <= 0.1 }));
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  return { comparisons, measurements };
}
