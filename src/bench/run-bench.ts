// The benchmark suite: every scenario side by side with its peers, in one run, into a results
// file with every sample and a self-contained HTML report. `freezedry bench` calls runBench.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { check } from '../check.js';
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';
import { onPath } from '../process/command.js';
import { undoAll } from './interrupt.js';
import { endLeftovers, formatTable, tagThisRun, type BenchOptions, type BenchProgress, type ScenarioResult } from './harness.js';
import { describeMachine, machineSummary } from './machine.js';
import { plotsOf, renderReport, renderSvg, type BenchResults } from './report.js';
import { archiveScenario } from './scenarios/archive.js';
import { cliScenario } from './scenarios/cli.js';
import { containersScenario } from './scenarios/containers.js';
import { dumpRestoreScenario } from './scenarios/dump-restore.js';
import { lazyScenario } from './scenarios/lazy.js';
import { migrateScenario } from './scenarios/migrate.js';
import { snapshotScenario } from './scenarios/snapshot.js';

type Scenario = (options: BenchOptions) => Promise<ScenarioResult>;

/** The scenarios, in the order a full run takes them, with what each needs beyond CRIU. */
export const SCENARIOS: Record<string, { run: Scenario; needs: string[]; describe: string }> = {
  dump: { run: dumpRestoreScenario, needs: ['cc', 'tar', 'zstd'], describe: 'dump wall and frozen time vs memory: freezedry (directory, archive), criu dump, criu dump + tar + zstd; plain restores' },
  cli: { run: cliScenario, needs: ['cc', 'lazy-pages'], describe: 'whole commands: freezedry --version vs node -e 0, freezedry dump vs criu dump, freezedry restore --lazy until the service answers vs criu restore, warm and cold' },
  lazy: { run: lazyScenario, needs: ['lazy-pages'], describe: 'restore and time until a Node service answers vs memory, warm and cold cache: full, lazy, lazy from an archive, criu restore, criu lazy-pages; background fill' },
  migrate: { run: migrateScenario, needs: ['cc', 'ip', 'tc', 'lazy-pages'], describe: 'migration downtime, frozen time, bytes and total time per mode vs memory and vs write rate, over a shaped link' },
  archive: { run: archiveScenario, needs: ['cc', 'tar', 'zstd'], describe: 'archive size per kind of memory vs criu + tar + zstd; page streaming vs criu page-server' },
  containers: { run: containersScenario, needs: ['cc', 'runc', 'busybox', 'ip', 'tc', 'lazy-pages'], describe: 'container checkpoint and restore vs runc and Podman; container migration' },
  snapshot: { run: snapshotScenario, needs: ['lazy-pages'], describe: 'a warmed Node service started from its own snapshot vs a cold start and a V8 start-up snapshot' },
};

export interface BenchRunOptions {
  scenarios?: string[];
  quick?: boolean;
  /** MiB; default 256 for a quick run, 256, 1024, 4096 and 8192 (those that fit in memory) for a full one. */
  sizes?: number[];
  repeats?: number;
  cache?: 'warm' | 'cold' | 'both';
  link?: string;
  /** Where results.json, report.html and plots/ go; default ./freezedry-bench/<time>. */
  out?: string;
}

const quietProgress: BenchProgress = { scenario() {}, sample() {}, note() {} };

/** What a need stands for, and how to get it. */
const NEEDS: Record<string, { test: (lazyPages: boolean) => boolean; reason: string }> = {
  cc: { test: () => onPath('cc'), reason: 'no C compiler (cc) to build the workloads: apt-get install gcc' },
  tar: { test: () => onPath('tar'), reason: 'no tar for the Podman-style peer' },
  zstd: { test: () => onPath('zstd'), reason: 'no zstd for the Podman-style peer: apt-get install zstd' },
  ip: { test: () => onPath('ip'), reason: 'no ip (iproute2) for the network namespaces' },
  tc: { test: () => onPath('tc'), reason: 'no tc (iproute2) to shape the link' },
  runc: { test: () => onPath('runc'), reason: "no runc: 'npm run provision' installs it" },
  busybox: { test: () => existsSync('/bin/busybox'), reason: 'no /bin/busybox for the container rootfs: apt-get install busybox-static' },
  'lazy-pages': { test: (lazyPages) => lazyPages, reason: 'CRIU finds no userfaultfd for lazy pages on this kernel' },
};

export function parseSizes(text: string): number[] {
  return text.split(',').map((part) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([MG])(?:i?B)?\s*$/i.exec(part);
    if (!match) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `--sizes: '${part}' is not a size like 256M or 4G`);
    const mib = Math.round(Number(match[1]) * (match[2]?.toUpperCase() === 'G' ? 1024 : 1));
    if (mib < 16) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `--sizes: ${part} is below the 16 MiB the workloads need`);
    return mib;
  });
}

export async function runBench(options: BenchRunOptions = {}, progress: BenchProgress = quietProgress): Promise<{ results: BenchResults; outDir: string }> {
  tagThisRun();
  // Interrupted: undo what the running scenario holds (network namespaces, containers), end the
  // processes this run started, and stop (the partial results are saved after each scenario).
  const interrupted = (signal: NodeJS.Signals) => {
    progress.note(`${signal}: ending what the run started`);
    void undoAll().then(() => {
      endLeftovers();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    return await runScenarios(options, progress);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

async function runScenarios(options: BenchRunOptions, progress: BenchProgress): Promise<{ results: BenchResults; outDir: string }> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const chosen = options.scenarios?.length ? options.scenarios : Object.keys(SCENARIOS);
  for (const name of chosen) {
    if (!SCENARIOS[name]) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `unknown scenario '${name}'; known: ${Object.keys(SCENARIOS).join(', ')}`);
  }
  if (options.repeats !== undefined && (!Number.isInteger(options.repeats) || options.repeats < 1)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `--repeats must be a whole number of at least 1, not ${options.repeats}`);
  }
  const skipped: BenchResults['skipped'] = [];
  // Each size runs one workload at a time, its images beside it in the page cache.
  const requested = options.sizes ?? (options.quick ? [256] : [256, 1024, 4096, 8192]);
  const sizes = requested.filter((mib) => {
    const fits = mib * 1048576 * 2.5 <= os.totalmem();
    if (!fits) skipped.push({ what: `${mib} MiB`, reason: `needs about ${((mib * 2.5) / 1024).toFixed(1)} GiB of memory; this machine has ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB` });
    return fits;
  });
  if (sizes.length === 0) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'no size in --sizes fits in this machine’s memory');
  const cache: ('warm' | 'cold')[] = options.cache === 'both' ? ['warm', 'cold'] : [options.cache ?? 'warm'];

  // The machine first: what check says, and what each scenario's peers need.
  const report = await check();
  if (!report.ok) {
    const failing = report.items.filter((i) => i.status === 'fail').map((i) => `${i.title}: ${i.detail}${i.fix ? ` (${i.fix})` : ''}`);
    throw new FreezedryError(ErrorCode.KERNEL_FEATURE_MISSING, `this machine cannot checkpoint: ${failing.join('; ')}. Run 'freezedry check --fix'`);
  }
  const machine = await describeMachine(report);
  progress.note(`machine: ${machineSummary(machine)}`);
  const lazyPages = report.features?.lazyPages === true;
  const runnable = chosen.filter((name) => {
    const reasons = (SCENARIOS[name]?.needs ?? []).filter((need) => !NEEDS[need]?.test(lazyPages)).map((need) => NEEDS[need]?.reason ?? need);
    for (const reason of reasons) skipped.push({ what: `scenario ${name}`, reason });
    if (reasons.length) progress.note(`skipping ${name}: ${reasons.join('; ')}`);
    return reasons.length === 0;
  });

  const outDir = path.resolve(options.out ?? path.join('freezedry-bench', startedAt.replace(/[:.]/g, '-')));
  await mkdir(path.join(outDir, 'plots'), { recursive: true });
  const logDir = path.join(outDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const scenarioOptions: BenchOptions = { quick: options.quick === true, sizes, repeats: options.repeats, cache, link: options.link ?? '1gbit', progress, logDir };
  const results: BenchResults = {
    format: 'freezedry-bench/1',
    startedAt,
    durationMs: 0,
    options: { scenarios: runnable, quick: scenarioOptions.quick, sizes, repeats: options.repeats, cache, link: scenarioOptions.link },
    machine,
    measurements: [],
    comparisons: [],
    notes: [],
    skipped,
    failed: [],
  };
  const save = async () => {
    results.durationMs = performance.now() - started;
    await writeFile(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  };

  for (const name of runnable) {
    progress.scenario(name);
    try {
      const result = await (SCENARIOS[name] as { run: Scenario }).run(scenarioOptions);
      results.measurements.push(...result.measurements);
      results.comparisons.push(...result.comparisons);
      results.notes.push(...(result.notes ?? []));
      for (const failure of result.failures ?? []) results.failed.push({ scenario: name, error: `${failure.part}: ${failure.error}` });
      progress.note(formatTable(result.comparisons));
    } catch (error) {
      // One scenario failing loses nothing the others measured.
      results.failed.push({ scenario: name, error: (error as Error).message });
      progress.note(`${name} failed: ${(error as Error).stack ?? String(error)}`);
    } finally {
      const ended = endLeftovers();
      if (ended > 0) progress.note(`${name}: ended ${ended} process(es) it left running`);
      await save(); // each scenario's results are kept at once
    }
  }

  const svgs = new Map<string, string>();
  for (const plot of plotsOf(results.measurements)) {
    const svg = await renderSvg(plot);
    svgs.set(plot.id, svg);
    await writeFile(path.join(outDir, 'plots', `${plot.id}.svg`), svg);
  }
  await save();
  await writeFile(path.join(outDir, 'report.html'), await renderReport(results, svgs));
  return { results, outDir };
}
