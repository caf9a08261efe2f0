// Scenario "archive": how small an archive gets per kind of memory (random, text, zeros, the
// three mixed, a real V8 heap) against the Podman-style sequence (criu dump, tar, zstd -1); the
// page sink's throughput against criu page-server; and the full restore of a pre-fork tree from
// its archive against criu restore. (Dump and restore times against size are the dump scenario's.)
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkpoint, restore, run } from '../../index.js';
import { PageSinkSession } from '../../pages/page-sink.js';
import { closeFd, openDirFd } from '../../images/images-dir.js';
import {
  compare,
  compileWorkload,
  criuBinary,
  endTree,
  exec,
  gone,
  packageRoot,
  rotation,
  sizeLabel,
  timed,
  waitReady,
  type BenchOptions,
  type Measurement,
  type ScenarioResult,
} from '../harness.js';

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

const KINDS = ['random', 'text', 'zeros', 'mixed', 'Node heap'] as const;

/** Sums the sizes of the files in a directory (a dump's images). */
async function directoryBytes(dir: string): Promise<number> {
  const { stdout } = await exec('du', ['-sb', dir]);
  return Number(stdout.split(/\s/)[0]);
}

export async function archiveScenario(options: BenchOptions): Promise<ScenarioResult> {
  const criu = criuBinary();
  const memhog = await compileWorkload('memhog');
  const sender = await compileWorkload('page-sender');
  const mib = options.quick ? 128 : 512;
  const base = path.join(os.tmpdir(), `freezedry-bench-archive-${process.pid}`);
  await mkdir(base, { recursive: true });
  const axis = (kind: string) => ({ label: 'kind of memory', value: kind });
  const m = (tool: string, kind: string): Measurement => ({
    scenario: 'archive',
    case: `archive size, ${sizeLabel(mib)} of ${kind} memory`,
    tool,
    samples: [],
    unit: '%',
    metric: 'archive size (% of the images)',
    x: axis(kind),
  });
  const measurements: Measurement[] = [];
  const comparisons = [];
  const notes: string[] = [];

  // Sizes are deterministic for a given memory: one dump per tool and kind.
  for (const [i, kind] of KINDS.entries()) {
    options.progress.sample(`archive size: ${kind}`, i + 1, KINDS.length);
    const ours = m('freezedry archive', kind);
    const podman = m('criu dump + tar + zstd -1', kind);
    const logFile = path.join(base, `${kind}.log`);
    const argv = kind === 'Node heap' ? [process.execPath, `--max-old-space-size=${mib * 4}`, path.join(packageRoot, 'bench', 'workloads', 'js-heap.mjs'), String(mib)] : [memhog, String(mib), '--fill', kind];
    let pid = (await run(argv, { logFile })).pid;
    await waitReady(logFile);
    // The directory first (criu dump, restored), then the archive of the same memory.
    const dir = path.join(base, 'images');
    await mkdir(dir);
    await exec(criu, ['dump', '-t', String(pid), '-D', dir, '-o', 'dump.log']);
    const imagesBytes = await directoryBytes(dir);
    await exec('sh', ['-c', `tar -cf - -C '${dir}' . | zstd -1 -T0 -q -o '${dir}.tar.zst'`]);
    podman.samples.push(((await stat(`${dir}.tar.zst`)).size / imagesBytes) * 100);
    await gone(pid);
    const pidfile = path.join(base, 'restored.pid');
    await rm(pidfile, { force: true });
    await exec(criu, ['restore', '-D', dir, '-d', '-o', 'restore.log', '--pidfile', pidfile]);
    pid = Number(await readFile(pidfile, 'utf8'));
    const archive = path.join(base, 'ours.tar.zst');
    const result = await checkpoint(pid, { archive });
    ours.samples.push(((result.archive?.bytes ?? Number.NaN) / imagesBytes) * 100);
    await gone(pid);
    notes.push(`${kind} memory (${sizeLabel(mib)}): images ${(imagesBytes / 1048576).toFixed(0)} MiB, freezedry archive ${ours.samples[0]?.toFixed(1)}%, criu + tar + zstd -1 ${podman.samples[0]?.toFixed(1)}%`);
    await rm(dir, { recursive: true, force: true });
    await rm(`${dir}.tar.zst`, { force: true });
    await rm(archive, { force: true });
    measurements.push(ours, podman);
    comparisons.push(compare(ours, podman, { describe: 'reported', met: () => true }));
  }

  // Page streaming: the same synthetic sender into our sink and into criu page-server.
  const streamMib = options.quick ? 512 : 2048;
  const repeats = options.repeats ?? (options.quick ? 1 : 3);
  const t = (tool: string, what: string): Measurement => ({ scenario: 'archive', case: `page streaming ${streamMib} MiB${what}`, tool, samples: [], unit: 'MB/s' });
  const raw = t('freezedry page sink (discard)', ',');
  const toDir = t('freezedry page sink → directory', ' to a directory,');
  const peer = t('criu page-server → directory', ',');
  for (let r = 0; r < repeats; r++) {
    options.progress.sample('page streaming', r + 1, repeats);
    raw.samples.push(await sinkThroughput(sender, streamMib, 'discard'));
    const ourDir = path.join(base, `sink-${r}`);
    toDir.samples.push(await sinkThroughput(sender, streamMib, ourDir));
    await rm(ourDir, { recursive: true, force: true });
    const theirDir = path.join(base, `page-server-${r}`);
    peer.samples.push(await criuPageServerThroughput(criu, sender, streamMib, theirDir));
    await rm(theirDir, { recursive: true, force: true });
  }
  const tree = await preForkTreeRestore(options, criu, memhog, base);
  measurements.push(...tree.measurements);
  comparisons.push(...tree.comparisons);
  await rm(base, { recursive: true, force: true });

  const ratioAtLeast = (limit: number) => ({ describe: `≥ ${limit}×`, met: (c: { ratio: number }) => c.ratio >= limit });
  measurements.push(raw, toDir, peer);
  comparisons.push(compare(raw, peer, ratioAtLeast(4)), compare(toDir, { ...peer, case: toDir.case }, ratioAtLeast(4)));
  return { measurements, comparisons, notes };
}

/**
 * A pre-fork tree (a parent and two workers sharing its memory copy-on-write) restored in full
 * from its archive (restore -i unpacks it, so CRIU keeps the sharing) against criu restore from
 * a directory of the same memory; page cache warm, turns alternating.
 */
async function preForkTreeRestore(options: BenchOptions, criu: string, memhog: string, base: string): Promise<Pick<ScenarioResult, 'measurements' | 'comparisons'>> {
  const mib = options.quick ? 128 : 1024;
  const repeats = options.repeats ?? (options.quick ? 1 : 5);
  const label = `pre-fork tree, 3 processes sharing ${sizeLabel(mib)}`;
  const m = (tool: string): Measurement => ({
    scenario: 'archive',
    case: `full restore of a ${label}`,
    tool,
    samples: [],
    unit: 'ms',
    metric: 'restore time of a pre-fork tree',
    x: { label: 'workload', value: label },
    cache: 'warm',
  });
  const ours = m('freezedry restore -i');
  const peer = m('criu restore -D');
  const logFile = path.join(base, 'tree.log');
  let pid = (await run([memhog, String(mib), '--fork', '2'], { logFile })).pid;
  await waitReady(logFile);
  const dir = path.join(base, 'tree-images');
  const archive = path.join(base, 'tree.tar.zst');
  await mkdir(dir);
  // The same memory twice: criu's images (the tree runs on), then our archive (which ends it).
  await exec(criu, ['dump', '-t', String(pid), '-D', dir, '-o', 'dump.log', '--leave-running']);
  await checkpoint(pid, { archive });
  await gone(pid);
  const pidfile = path.join(base, 'tree.pid');
  for (let r = 0; r < repeats; r++) {
    for (const tool of rotation(['ours', 'criu'] as const, r)) {
      options.progress.sample(`pre-fork tree restore: ${tool === 'ours' ? ours.tool : peer.tool}`, r * 2 + (tool === 'ours' ? 1 : 2), repeats * 2);
      if (tool === 'criu') {
        await rm(pidfile, { force: true });
        const [ms] = await timed(() => exec(criu, ['restore', '-D', dir, '-d', '-o', 'restore.log', '--pidfile', pidfile]));
        peer.samples.push(ms);
        pid = Number(await readFile(pidfile, 'utf8'));
      } else {
        const [ms, back] = await timed(() => restore({ archive }));
        ours.samples.push(ms);
        pid = back.pid;
      }
      await endTree(pid);
    }
  }
  await rm(dir, { recursive: true, force: true });
  await rm(archive, { force: true });
  return { measurements: [ours, peer], comparisons: [compare(ours, peer, { describe: '≤ 1.3×', met: (c) => c.ratio <= 1.3 })] };
}
