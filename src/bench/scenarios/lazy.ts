// Scenario "lazy": how soon a restored Node service answers (lazy restore vs a full criu
// restore), how long the background fill takes (vs criu lazy-pages on the same images), and
// lazy restore from an archive vs from a directory.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkpoint, restore, run } from '../../lib/index.js';
import { compare, criuBinary, exec, gone, ping, repoRoot, untilAnswers, type Comparison, type Measurement } from '../harness.js';

const service = path.join(repoRoot, 'lib', 'demo', 'state-service.js');

async function startService(mib: number, port: number, logFile: string): Promise<number> {
  const { pid } = await run([process.execPath, service, '--port', String(port), '--mb', String(mib)], { logFile });
  for (let i = 0; i < 6000 && !(await ping(port)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return pid;
}

export async function lazyScenario(options: { quick?: boolean } = {}): Promise<{ comparisons: Comparison[]; measurements: Measurement[]; notes: string[] }> {
  const criu = criuBinary();
  const sizes = options.quick ? [256] : [1024, 4096];
  const repeats = options.quick ? 1 : 3;
  const base = path.join(os.tmpdir(), `freezedry-bench-lazy-${process.pid}`);
  await mkdir(base, { recursive: true });
  const comparisons: Comparison[] = [];
  const measurements: Measurement[] = [];
  const notes: string[] = [];
  const port = 41000 + Math.floor(Math.random() * 10000);

  for (const mib of sizes) {
    const label = mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`;
    const m = (tool: string, what: string): Measurement => ({ scenario: 'lazy', case: `${what}, ${label} Node service`, tool, samples: [], unit: 'ms' });
    const answerLazy = m('freezedry lazy restore', 'time until it answers');
    const answerFull = m('criu restore (full)', 'time until it answers');
    const fillOurs = m('freezedry uffd server', 'background fill');
    const fillCriu = m('criu lazy-pages', 'background fill');
    const answerCriuLazy = m('criu lazy-pages + restore --lazy-pages', 'time until it answers');
    const answerArchive = m('freezedry lazy restore from archive', 'time until it answers (archive)');
    const fillArchive = m('freezedry uffd server from archive', 'background fill (archive)');

    let pid = await startService(mib, port, path.join(base, `service-${mib}.log`));
    const dir = path.join(base, `images-${mib}`);
    await checkpoint(pid, { imagesDir: dir });
    const file = path.join(base, `service-${mib}.tar.zst`);
    await gone(pid);
    // The archive comes from the same process state: restore it, dump it again.
    pid = (await restore({ imagesDir: dir })).pid;
    await checkpoint(pid, { archive: file });
    await gone(pid);

    for (let r = 0; r < repeats; r++) {
      // Full restore with the criu CLI: it answers once every page is in.
      let start = performance.now();
      const pidfile = path.join(base, 'full.pid');
      await rm(pidfile, { force: true }); // criu refuses to overwrite a pidfile
      await exec(criu, ['restore', '-D', dir, '-d', '-o', 'restore-full.log', '--pidfile', pidfile]);
      await untilAnswers(port);
      answerFull.samples.push(performance.now() - start);
      process.kill(Number(await readFile(pidfile, 'utf8')), 'SIGKILL');
      await gone(Number(await readFile(pidfile, 'utf8')));

      // freezedry lazy restore from the directory.
      start = performance.now();
      const lazy = await restore({ imagesDir: dir, lazy: true });
      const returned = performance.now();
      const filled = lazy.lazy?.fill.then(() => performance.now());
      await untilAnswers(port);
      answerLazy.samples.push(performance.now() - start);
      // The fill, from the restore's return, as criu lazy-pages is timed below.
      fillOurs.samples.push(((await filled) ?? returned) - returned);
      process.kill(lazy.pid, 'SIGKILL');
      await gone(lazy.pid);

      // criu lazy-pages on the same images: from the end of the restore to the daemon's exit.
      const work = path.join(base, `criu-lazy-${r}`);
      await mkdir(work, { recursive: true });
      const daemon = spawn(criu, ['lazy-pages', '-D', dir, '-W', work, '-o', 'lazy-pages.log'], { stdio: 'ignore' });
      const daemonDone = new Promise((resolve) => daemon.once('exit', resolve));
      while (!existsSync(path.join(work, 'lazy-pages.socket'))) await new Promise((resolve) => setTimeout(resolve, 2));
      const lazyPid = path.join(work, 'restored.pid');
      start = performance.now();
      await exec(criu, ['restore', '-D', dir, '-W', work, '--lazy-pages', '-d', '-o', 'restore.log', '--pidfile', lazyPid]);
      const restoredAt = performance.now();
      // The same first request as ours meets during its fill.
      await untilAnswers(port);
      answerCriuLazy.samples.push(performance.now() - start);
      await daemonDone;
      fillCriu.samples.push(performance.now() - restoredAt);
      process.kill(Number(await readFile(lazyPid, 'utf8')), 'SIGKILL');
      await gone(Number(await readFile(lazyPid, 'utf8')));
      await rm(work, { recursive: true, force: true });

      // freezedry lazy restore straight from the archive.
      start = performance.now();
      const fromArchive = await restore({ archive: file, lazy: true });
      const archiveReturned = performance.now();
      const archiveFilled = fromArchive.lazy?.fill.then(() => performance.now());
      await untilAnswers(port);
      answerArchive.samples.push(performance.now() - start);
      fillArchive.samples.push(((await archiveFilled) ?? archiveReturned) - archiveReturned);
      process.kill(fromArchive.pid, 'SIGKILL');
      await gone(fromArchive.pid);
    }
    measurements.push(answerLazy, answerFull, answerCriuLazy, fillOurs, fillCriu, answerArchive, fillArchive);
    comparisons.push(compare(answerLazy, answerFull, { describe: '≤ 100 ms', met: (c) => c.oursMedian <= 100 }));
    comparisons.push(compare(answerLazy, { ...answerCriuLazy, case: answerLazy.case }, { describe: 'reported', met: () => true }));
    comparisons.push(compare(fillOurs, fillCriu, { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }));
    comparisons.push(compare(answerArchive, { ...answerLazy, case: answerArchive.case }, { describe: 'reported', met: () => true }));
    comparisons.push(compare(fillArchive, { ...fillOurs, case: fillArchive.case }, { describe: 'reported', met: () => true }));
    await rm(dir, { recursive: true, force: true });
    await rm(file, { force: true });
  }
  await rm(base, { recursive: true, force: true });
  return { comparisons, measurements, notes };
}
