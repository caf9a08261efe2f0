// Scenario "archive": a compressed archive written while CRIU dumps, against the criu CLI and
// against the Podman-style sequence (criu dump, then tar, then zstd); restore from the archive
// against criu restore from a directory; the page sink's throughput against criu page-server.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkpoint, restore, run } from '../../lib/index.js';
import { PageSinkSession } from '../../lib/pages/page-sink.js';
import { closeFd, openDirFd } from '../../lib/images/images-dir.js';
import { compare, compileWorkload, criuBinary, exec, gone, median, timed, waitReady, type Comparison, type Measurement } from '../harness.js';




/** Sends `mib` MiB through the page-server protocol into our sink over a socket pair. */
async function sinkThroughput(sender: string, mib: number, target: 'discard' | string): Promise<number> {
  let dirFd: number | undefined;
  if (target !== 'discard') {
    await mkdir(target, { recursive: true });
    dirFd = openDirFd(target);
  }
  const sink = dirFd === undefined ? PageSinkSession.discarding() : PageSinkSession.toDirectory(dirFd);
  closeFd(dirFd);
  const child = spawn(sender, [String(mib), 'fd'], { stdio: ['ignore', 'pipe', 'inherit', sink.criuEnd] });
  (await import('node:fs')).closeSync(sink.criuEnd);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  await sink.done;
  sink.close();
  return (mib * 1.048576) / Number(out.trim()); // MB/s
}

async function criuPageServerThroughput(criu: string, sender: string, mib: number, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = spawn(criu, ['page-server', '-D', dir, '--address', '127.0.0.1', '--port', String(port), '-o', 'ps.log'], { stdio: 'ignore' });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const { stdout } = await exec(sender, [String(mib), 'tcp', '127.0.0.1', String(port)]);
        return (mib * 1.048576) / Number(stdout.trim());
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50)); // not listening yet
      }
    }
  } finally {
    server.kill('SIGKILL');
  }
}

export async function archiveScenario(options: { quick?: boolean } = {}): Promise<{ comparisons: Comparison[]; measurements: Measurement[]; notes: string[] }> {
  const criu = criuBinary();
  const memhog = await compileWorkload('memhog');
  const sender = await compileWorkload('page-sender');
  const mib = options.quick ? 256 : 1024;
  const repeats = options.quick ? 1 : 5;
  const label = `${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`}`;
  const base = path.join(os.tmpdir(), `freezedry-bench-archive-${process.pid}`);
  await mkdir(base, { recursive: true });
  const m = (tool: string, what: string, unit: Measurement['unit'] = 'ms'): Measurement => ({ scenario: 'archive', case: `${what} ${label}`, tool, samples: [], unit });
  const ours = { dump: m('freezedry', 'dump to archive'), restore: m('freezedry', 'restore from archive') };
  const criuDump = m('criu CLI', 'dump to archive');
  const podman = m('criu dump + tar + zstd', 'dump to archive');
  const criuRestore = m('criu restore from the unpacked directory', 'restore from archive');
  const archiveBytes: number[] = [];

  const logFile = path.join(base, 'memhog.log');
  let pid = (await run([memhog, String(mib)], { logFile })).pid;
  await waitReady(logFile);
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 === 0 ? ['criu', 'freezedry'] : ['freezedry', 'criu'];
    for (const tool of order) {
      if (tool === 'criu') {
        const dir = path.join(base, `criu-${r}`);
        await mkdir(dir);
        const [dumpMs] = await timed(() => exec(criu, ['dump', '-t', String(pid), '-D', dir, '-o', 'dump.log', '-v2']));
        await gone(pid);
        // Podman's checkpoint -e: the same dump, then tar and zstd over its directory.
        const tarball = path.join(base, `podman-${r}.tar.zst`);
        const [packMs] = await timed(() => exec('sh', ['-c', `tar -cf - -C '${dir}' . | zstd -1 -T0 -q -o '${tarball}'`]));
        criuDump.samples.push(dumpMs);
        podman.samples.push(dumpMs + packMs);
        const pidfile = path.join(dir, 'restored.pid');
        const [restoreMs] = await timed(() => exec(criu, ['restore', '-D', dir, '-d', '-o', 'restore.log', '-v2', '--pidfile', pidfile]));
        criuRestore.samples.push(restoreMs);
        pid = Number(await readFile(pidfile, 'utf8'));
        await rm(dir, { recursive: true, force: true });
        await rm(tarball, { force: true });
      } else {
        const file = path.join(base, `freezedry-${r}.tar.zst`);
        const [dumpMs] = await timed(() => checkpoint(pid, { archive: file }));
        ours.dump.samples.push(dumpMs);
        archiveBytes.push((await stat(file)).size);
        await gone(pid);
        const [restoreMs, restored] = await timed(() => restore({ archive: file }));
        ours.restore.samples.push(restoreMs);
        pid = restored.pid;
        await rm(file, { force: true });
      }
    }
  }
  process.kill(pid, 'SIGKILL');

  // Page streaming: the same synthetic sender into our sink and into criu page-server.
  const streamMib = options.quick ? 512 : 2048;
  const raw = m('freezedry page sink (discard)', `page streaming ${streamMib} MiB,`, 'MB/s');
  const toDir = m('freezedry page sink → directory', `page streaming ${streamMib} MiB to a directory,`, 'MB/s');
  const peer = m('criu page-server → directory', `page streaming ${streamMib} MiB,`, 'MB/s');
  for (let r = 0; r < (options.quick ? 1 : 3); r++) {
    raw.samples.push(await sinkThroughput(sender, streamMib, 'discard'));
    const ourDir = path.join(base, `sink-${r}`);
    toDir.samples.push(await sinkThroughput(sender, streamMib, ourDir));
    await rm(ourDir, { recursive: true, force: true });
    const theirDir = path.join(base, `page-server-${r}`);
    peer.samples.push(await criuPageServerThroughput(criu, sender, streamMib, theirDir));
    await rm(theirDir, { recursive: true, force: true });
  }
  await rm(base, { recursive: true, force: true });

  const ratioAtMost = (limit: number) => ({ describe: `≤ ${limit}×`, met: (c: { ratio: number }) => c.ratio <= limit });
  const ratioAtLeast = (limit: number) => ({ describe: `≥ ${limit}×`, met: (c: { ratio: number }) => c.ratio >= limit });
  const toDirPeer = { ...peer, case: toDir.case };
  return {
    measurements: [ours.dump, criuDump, podman, ours.restore, criuRestore, raw, toDir, peer],
    comparisons: [
      compare(ours.dump, criuDump, ratioAtMost(1.0)),
      compare(ours.dump, { ...podman, case: ours.dump.case }, ratioAtMost(0.5)),
      compare(ours.restore, criuRestore, ratioAtMost(1.3)),
      compare(raw, peer, ratioAtLeast(4)),
      compare(toDir, toDirPeer, ratioAtLeast(4)),
    ],
    notes: [`archive size: ${((median(archiveBytes) / (mib * 1048576)) * 100).toFixed(1)}% of the process's ${label} (median ${(median(archiveBytes) / 1048576).toFixed(0)} MiB)`],
  };
}
