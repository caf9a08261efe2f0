// Scenario "dump": dump wall time and frozen time against memory size, for freezedry into a
// directory and into a compressed archive (fsynced; every frame compressed, or adaptive) through
// the API, `freezedry dump -o` as a whole command (the operator's durable archive), the
// criu CLI (alone, and with its images fsynced, the archive's durable peer), and the
// Podman-style sequence (criu dump, tar, zstd);
// then the plain restore of each (page cache warm: the lazy scenario times restores from a
// cold cache). All tools take turns on the same process (each restore
// hands it to the next dump, so every tool sees the same memory), in a rotating order.
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkpoint, restore, run, type CheckpointResult } from '../../index.js';
import { readDumpStats } from '../../images/stats.js';
import {
  compare,
  compileWorkload,
  criuBinary,
  eachPart,
  endTree,
  exec,
  freezedryCommand,
  gone,
  median,
  memoryAxis,
  rotation,
  sizeLabel,
  targetFor,
  timed,
  waitReady,
  type BenchOptions,
  type Comparison,
  type Measurement,
  type PartFailure,
  type ScenarioResult,
} from '../harness.js';

const ADAPTIVE = 'freezedry → archive, adaptive compression';
// The command, started from its shell like `criu dump`: what an operator's archive costs.
const COMMAND = 'freezedry dump -o';
const TOOLS = ['freezedry → directory', 'freezedry → archive', ADAPTIVE, COMMAND, 'criu dump', 'criu dump + tar + zstd'] as const;
type Tool = (typeof TOOLS)[number];

export async function dumpRestoreScenario(options: BenchOptions): Promise<ScenarioResult> {
  const criu = criuBinary();
  const memhog = await compileWorkload('memhog');
  const repeats = options.repeats ?? (options.quick ? 1 : 5);
  const base = path.join(os.tmpdir(), `freezedry-bench-dump-${process.pid}`);
  const comparisons: Comparison[] = [];
  const measurements: Measurement[] = [];
  const notes: string[] = [];
  await mkdir(base, { recursive: true });

  const failures: PartFailure[] = [];
  const labelOf = (mib: number) => (mib === 1 ? 'tiny process' : sizeLabel(mib));
  await eachPart([1, ...options.sizes], labelOf, failures, async (mib) => {
    const label = labelOf(mib);
    const m = (tool: string, metric: string): Measurement => ({
      scenario: 'dump',
      case: `${metric}, ${label}`,
      tool,
      samples: [],
      unit: 'ms',
      metric,
      x: memoryAxis(mib),
      cache: 'warm',
    });
    const wall = new Map(TOOLS.map((t) => [t, m(t, 'dump wall time')]));
    const frozen = new Map(TOOLS.map((t) => [t, m(t, 'dump frozen time')]));
    const durable = m('criu dump + fsync', 'dump wall time');
    const restored = {
      ours: m('freezedry restore', 'restore time'),
      archive: m('freezedry restore from archive', 'restore time'),
      adaptive: m('freezedry restore from archive, adaptive compression', 'restore time'),
      criu: m('criu restore', 'restore time'),
    };
    const logFile = path.join(base, `memhog-${mib}.log`);
    let pid = (await run([memhog, String(mib)], { logFile })).pid;
    await waitReady(logFile);

    for (let r = 0; r < repeats; r++) {
      const turn = rotation(TOOLS, r);
      for (const [i, tool] of turn.entries()) {
        options.progress.sample(`dump ${label}: ${tool}`, r * TOOLS.length + i + 1, repeats * TOOLS.length);
        pid = await dumpAndRestore(tool, r);
      }
    }
    await endTree(pid);
    const dumps = [...wall.values()];
    measurements.push(...dumps, durable, ...frozen.values(), ...Object.values(restored));
    const criuWall = wall.get('criu dump') as Measurement;
    const dumpTarget = mib === 1 ? { describe: '≤ +10 ms', met: (c: Comparison) => c.difference <= 10 } : { describe: '≤ 1.05×', met: (c: Comparison) => c.ratio <= 1.05 };
    comparisons.push(compare(wall.get('freezedry → directory') as Measurement, criuWall, dumpTarget));
    comparisons.push(compare(wall.get('freezedry → archive') as Measurement, durable, { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }));
    comparisons.push(compare(wall.get('freezedry → archive') as Measurement, { ...(wall.get('criu dump + tar + zstd') as Measurement), case: criuWall.case }, { describe: '≤ 0.5×', met: (c) => c.ratio <= 0.5 }));
    comparisons.push(compare(wall.get(ADAPTIVE) as Measurement, durable, { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }));
    comparisons.push(compare(frozen.get('freezedry → archive') as Measurement, frozen.get('criu dump') as Measurement, { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }));
    comparisons.push(compare(frozen.get(ADAPTIVE) as Measurement, frozen.get('criu dump') as Measurement, { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }));
    comparisons.push(compare(wall.get(COMMAND) as Measurement, durable, { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }));
    comparisons.push(compare(frozen.get(COMMAND) as Measurement, frozen.get('criu dump') as Measurement, { describe: '≤ 1.0×', met: (c) => c.ratio <= 1.0 }));
    comparisons.push(compare(restored.ours, restored.criu, { describe: '≤ 1.05×', met: (c) => c.ratio <= 1.05 }));
    comparisons.push(compare(restored.archive, restored.criu, { describe: '≤ 1.3×', met: (c) => c.ratio <= 1.3 }));
    if (mib !== 1) measurements.push(targetFor(criuWall, 1.05, '≤ 1.05× criu dump'));
    options.progress.note(`dump ${label}: ${dumps.map((d) => `${d.tool} ${Math.round(median(d.samples))} ms`).join(', ')}`);

    async function dumpAndRestore(tool: Tool, r: number): Promise<number> {
      const dir = path.join(base, `images-${r}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir);
      try {
        if (tool === 'criu dump' || tool === 'criu dump + tar + zstd') {
          const [dumpMs] = await timed(() => exec(criu, ['dump', '-t', String(pid), '-D', dir, '-o', 'dump.log', '-v2']));
          let packMs = 0;
          if (tool === 'criu dump + tar + zstd') {
            // Podman's checkpoint --export: the same dump, then tar and zstd over its directory.
            [packMs] = await timed(() => exec('sh', ['-c', `tar -cf - -C '${dir}' . | zstd -1 -T0 -q -o '${dir}.tar.zst'`]));
            await rm(`${dir}.tar.zst`, { force: true });
          }
          (wall.get(tool) as Measurement).samples.push(dumpMs + packMs);
          (frozen.get(tool) as Measurement).samples.push((await readDumpStats(dir))?.frozenTimeMs ?? Number.NaN);
          if (tool === 'criu dump') {
            // As durable as freezedry's archive (fsynced before it returns): the images synced too.
            const [syncMs] = await timed(() => exec('sh', ['-c', `sync -f '${dir}' && sync '${dir}'/*`]));
            durable.samples.push(dumpMs + syncMs);
          }
          await gone(pid);
          const pidfile = path.join(dir, 'restored.pid');
          const [restoreMs] = await timed(() => exec(criu, ['restore', '-D', dir, '-d', '-o', 'restore.log', '-v2', '--pidfile', pidfile]));
          if (tool === 'criu dump') restored.criu.samples.push(restoreMs);
          return Number(await readFile(pidfile, 'utf8'));
        }
        const archive = tool === 'freezedry → directory' ? undefined : `${dir}.tar.zst`;
        const archiveOptions = { compression: tool === ADAPTIVE ? ('adaptive' as const) : ('full' as const) };
        // The command prints the API's result with --json (its archive restores as the API's does).
        const [dumpMs, result] = await timed(async () =>
          tool === COMMAND
            ? (JSON.parse((await exec(freezedryCommand, ['dump', String(pid), '-o', `${dir}.tar.zst`, '--json'])).stdout) as CheckpointResult)
            : checkpoint(pid, archive ? { archive, archiveOptions } : { imagesDir: dir }),
        );
        (wall.get(tool) as Measurement).samples.push(dumpMs);
        (frozen.get(tool) as Measurement).samples.push(result.stats?.frozenTimeMs ?? Number.NaN);
        if (archive && tool !== COMMAND && r === 0) {
          const how = tool === ADAPTIVE ? `with adaptive compression (${(((result.archive?.storedBytes ?? 0) / (mib * 1048576)) * 100).toFixed(1)}% of it stored)` : '';
          notes.push(`dump ${label} into an archive${how ? ` ${how}` : ''}: ${(((await stat(archive)).size / (mib * 1048576)) * 100).toFixed(1)}% of its memory`);
        }
        await gone(pid);
        const [restoreMs, back] = await timed(() => restore(archive ? { archive } : { imagesDir: dir }));
        (tool === ADAPTIVE ? restored.adaptive : archive ? restored.archive : restored.ours).samples.push(restoreMs);
        return back.pid;
      } finally {
        await rm(dir, { recursive: true, force: true });
        await rm(`${dir}.tar.zst`, { force: true });
      }
    }
  });
  await rm(base, { recursive: true, force: true });
  return { comparisons, measurements, notes, failures };
}
