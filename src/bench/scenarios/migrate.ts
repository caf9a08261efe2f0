// Scenario "migrate": a service that keeps rewriting its memory, in its own pid and network
// namespace on host a, moved to host b over a shaped link (1 Gbit/s unless --link says), in
// every mode: against memory size at 64 MiB/s written, and against write rate at 1 GiB. A client on a third host holds one keep-alive TCP connection to it throughout (the
// connection moves with --tcp-established); the downtime is the longest gap between its answers.
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHosts, HOST_BRIDGE } from '../network-hosts.js';
import { compare, compileWorkload, eachPart, endTree, keepaliveClient, median, memoryAxis, freezedryCommand as cli, rotation, sizeLabel, targetFor, type BenchOptions, type Comparison, type Measurement, type PartFailure, type ScenarioResult } from '../harness.js';

// auto again with --no-replay-frames: what injecting the frames sent during the freeze saves a client.
const UNREPLAYED = 'auto without frame replay';
const ALL_MODES = ['stop-copy', 'pre-copy', 'post-copy', 'hybrid', 'auto', UNREPLAYED] as const;
// FREEZEDRY_BENCH_MODES=auto runs only those (stop-copy always, as the reference).
const only = process.env.FREEZEDRY_BENCH_MODES?.split(',');
const MODES = ALL_MODES.filter((m) => !only || m === 'stop-copy' || only.includes(m));
// FREEZEDRY_BENCH_RATES=64 runs only those write rates against size (none against rate).
const onlyRates = process.env.FREEZEDRY_BENCH_RATES?.split(',').map(Number);

interface Run {
  downtimeMs: number;
  /** The longest gap in the process's own 10 ms heartbeat: the freeze it lived through. */
  heartbeatGapMs: number;
  /** The same, as migrate's own --probe (from host a, its own connection) saw it, when probing. */
  probeGapMs?: number;
  frozenMs: number;
  totalMs: number;
  bytesOnWire: number;
  rounds: number;
  mode: string;
  /** Where the freeze went, as the source reports it (lazy modes): CRIU's dump, last pages, images, restore. */
  freezeSteps?: Record<string, number>;
}

// migrate's own --probe too, unless FREEZEDRY_BENCH_PROBE=0. (It was off while host a lost
// host b after a few migrations: the hosts' bridges changed MAC as veths came and went; the
// agents now pin them.)
const probing = process.env.FREEZEDRY_BENCH_PROBE !== '0';

export async function migrateScenario(options: BenchOptions): Promise<ScenarioResult> {
  const memhog = await compileWorkload('memhog');
  const repeats = options.repeats ?? (options.quick ? 1 : 3);
  const hosts = createHosts({ rate: options.link });
  const link = options.link.replace(/^(\d+)gbit$/, '$1 Gbit/s').replace(/^(\d+)mbit$/, '$1 Mbit/s');
  const notes: string[] = [];
  const measurements: Measurement[] = [];
  const comparisons: Comparison[] = [];
  // Against size at a fixed write rate; against write rate at a fixed size (1 GiB, or the
  // largest size when all are smaller).
  const rate = 64;
  const rateSize = options.sizes.includes(1024) ? 1024 : Math.max(...options.sizes);
  const rates = onlyRates ? [] : options.quick ? [0, 256] : [0, 16, 64, 256];
  // The case at 1 GiB and 64 MiB/s sits on both curves: measured once, plotted on each.
  const rateCurve = `at ${sizeLabel(rateSize)}`;
  const rateAxis = (r: number) => ({ x: { label: 'write rate (MiB/s)', value: r }, curve: rateCurve });
  const cases = [
    ...(onlyRates ?? [rate]).flatMap((rate) => options.sizes.map((mib) => ({ mib, rate, axes: [{ x: memoryAxis(mib), curve: `at ${rate} MiB/s written` }, ...(mib === rateSize && rates.includes(rate) ? [rateAxis(rate)] : [])] }))),
    ...rates.filter((r) => !(r === rate && options.sizes.includes(rateSize))).map((r) => ({ mib: rateSize, rate: r, axes: [rateAxis(r)] })),
  ];
  let port = 7200;
  let done = 0;
  const failures: PartFailure[] = [];
  try {
    await eachPart(cases, (c) => `${sizeLabel(c.mib)} at ${c.rate} MiB/s`, failures, async (c) => {
      const byMode = new Map<string, Run[]>();
      for (let r = 0; r < repeats; r++) {
        for (const mode of rotation(MODES, r)) {
          options.progress.sample(`migrate ${sizeLabel(c.mib)} at ${c.rate} MiB/s: ${mode}`, ++done, cases.length * repeats * MODES.length);
          byMode.set(mode, [...(byMode.get(mode) ?? []), await migrateOnce(mode, port++, c.mib, c.rate)]);
        }
      }
      const caseName = `${sizeLabel(c.mib)} writing ${c.rate} MiB/s, over ${link}`;
      // One measurement per curve the case is on; the first is the one compared.
      const series = (mode: string, metric: string, unit: Measurement['unit'], values: number[]): Measurement[] =>
        c.axes.map((axis) => ({ scenario: 'migrate', case: `${metric}, ${caseName}`, tool: mode, samples: values, unit, metric: `${metric} ${axis.curve}`, x: axis.x }));
      const downtime = new Map<string, Measurement>();
      const heartbeat = new Map<string, Measurement>();
      for (const mode of MODES) {
        const runs = byMode.get(mode) ?? [];
        const seen = series(mode, 'client-observed downtime', 'ms', runs.map((r) => r.downtimeMs));
        const lived = series(mode, "longest gap in the process's heartbeat", 'ms', runs.map((r) => r.heartbeatGapMs));
        downtime.set(mode, seen[0] as Measurement);
        heartbeat.set(mode, lived[0] as Measurement);
        measurements.push(
          ...seen,
          ...lived,
          ...series(mode, 'frozen time', 'ms', runs.map((r) => r.frozenMs)),
          ...series(mode, 'total time', 'ms', runs.map((r) => r.totalMs)),
          ...series(mode, 'bytes on the wire', 'MiB', runs.map((r) => r.bytesOnWire / 1048576)),
          ...(probing ? series(mode, "downtime seen by migrate's --probe", 'ms', runs.map((r) => r.probeGapMs ?? Number.NaN)) : []),
        );
        const [seenSamples, livedSamples] = [runs.map((r) => r.downtimeMs), runs.map((r) => r.heartbeatGapMs)];
        notes.push(
          `${mode}, ${caseName}: client-observed downtime ${median(seenSamples).toFixed(0)} ms (samples ${seenSamples.map((x) => x.toFixed(0)).join(', ')}), ` +
            `heartbeat gap ${median(livedSamples).toFixed(0)} ms, frozen ${median(runs.map((r) => r.frozenMs)).toFixed(0)} ms, until the source ended ${median(runs.map((r) => r.totalMs)).toFixed(0)} ms, ` +
            `${(median(runs.map((r) => r.bytesOnWire)) / 1048576).toFixed(0)} MiB on the wire` +
            (runs.some((r) => r.rounds > 0) ? `, rounds ${runs.map((r) => r.rounds).join('/')}` : '') +
            (mode.startsWith('auto') ? `; auto chose ${runs.map((r) => r.mode).join(', ')}` : '') +
            freezeBreakdown(runs),
        );
      }
      const stopCopy = downtime.get('stop-copy') as Measurement;
      for (const axis of c.axes) measurements.push(targetFor({ ...stopCopy, metric: `client-observed downtime ${axis.curve}`, x: axis.x }, 0.05, '≤ 0.05× stop-copy'));
      const target = { describe: '≤ 0.05× and ≤ 300 ms', met: (x: { ratio: number; oursMedian: number }) => x.ratio <= 0.05 && x.oursMedian <= 300 };
      for (const mode of MODES.filter((m) => m !== 'stop-copy')) {
        comparisons.push(compare(downtime.get(mode) as Measurement, stopCopy, mode === 'auto' || mode === 'pre-copy' ? target : undefined));
      }
      if (downtime.has('auto') && downtime.has(UNREPLAYED)) {
        comparisons.push(compare(downtime.get('auto') as Measurement, downtime.get(UNREPLAYED) as Measurement));
      }
    });
  } finally {
    hosts.destroy();
  }
  // The freeze flat in memory: each mode's heartbeat gap at the largest size against the smallest.
  if (options.sizes.length > 1) {
    const gap = (mode: string, mib: number) =>
      measurements.find((m) => m.tool === mode && m.metric?.startsWith("longest gap in the process's heartbeat at") && m.x?.value === mib && m.x.label === 'memory (MiB)');
    const [small, large] = [Math.min(...options.sizes), Math.max(...options.sizes)];
    for (const mode of MODES.filter((m) => m !== 'stop-copy')) {
      const a = gap(mode, large);
      const b = gap(mode, small);
      if (a && b) comparisons.push(compare({ ...a, case: `heartbeat gap ${sizeLabel(large)} against ${sizeLabel(small)} (${mode})` }, { ...b, tool: `${mode} at ${sizeLabel(small)}` }, { describe: '≤ 1.25×', met: (x) => x.ratio <= 1.25 }));
    }
  }
  return { comparisons, measurements, notes, failures };

  async function migrateOnce(mode: string, listenPort: number, mib: number, dirty: number): Promise<Run> {
    const log = path.join(os.tmpdir(), `freezedry-bench-migrate-${process.pid}-${listenPort}.log`);
    const argv = [memhog, String(mib), '--dirty', String(dirty), '--serve', '8080', '--heartbeat'];
    const pid = Number(hosts.a.run([cli, 'run', '--net', '--log', log, '--', ...argv]).trim());
    const address = hosts.attachService(hosts.a, pid);
    for (let i = 0; i < 600 && !(await readFile(log, 'utf8').catch(() => '')).includes('SERVING'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const watcher = await keepaliveClient(hosts.client, address, 8080);

    const receiver = hosts.b.spawn([cli, 'receive', '--listen', `${hosts.b.address}:${listenPort}`, '--token', 'bench', '--bridge', HOST_BRIDGE, '--once']);
    let heard = '';
    receiver.stdout?.on('data', (d: Buffer) => (heard += d.toString()));
    receiver.stderr?.on('data', (d: Buffer) => (heard += d.toString()));
    const received = new Promise((resolve) => receiver.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const modeArgs = mode === UNREPLAYED ? ['--mode', 'auto', '--no-replay-frames'] : ['--mode', mode];
    const migrating = hosts.a.spawn([cli, 'migrate', String(pid), '--to', `${hosts.b.address}:${listenPort}`, '--token', 'bench', ...modeArgs, '--tcp-established', ...(probing ? ['--probe', `http://${address}:8080/`] : []), '--json']);
    let out = '';
    let said = '';
    migrating.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    migrating.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    const migrated = await new Promise((resolve) => migrating.once('exit', resolve));
    // A source that never reached the receiver leaves it waiting for a connection.
    if (migrated !== 0) setTimeout(() => receiver.kill('SIGKILL'), 2000).unref();
    await received;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the client keeps going on the moved service
    const report = await watcher.stop();
    if (options.logDir) {
      const file = path.join(options.logDir, `migrate-${mode.replace(/\W+/g, '-')}-${sizeLabel(mib).replace(/\s+/g, '')}-${listenPort}.log`);
      await writeFile(file, `# source (freezedry migrate)\n${said}${out}\n# destination (freezedry receive)\n${heard}\n# client\n${report}\n`);
    }
    const result = JSON.parse(out) as { clientDowntimeMs?: number; frozenMs: number; totalMs: number; bytesOnWire: number; destinationPid: number; mode: string; rounds?: unknown[]; freezeSteps?: Record<string, number>; error?: unknown };
    if (result.error) {
      const probe = (argv: string[]) => {
        try {
          return hosts.a.run(argv);
        } catch (e) {
          return String((e as Error).message);
        }
      };
      const network = [probe(['ping', '-c', '1', '-W', '1', hosts.b.address]), probe(['ip', 'neigh']), probe(['bridge', 'link'])].join('\n');
      throw new Error(`migrate ${mode} failed: ${JSON.stringify(result.error)}; the receiver said: ${heard}; the network from a:\n${network}`);
    }
    const seen = JSON.parse(report) as { longestGapMs: number; error: string | null; continuous: boolean };
    if (seen.error || !seen.continuous) throw new Error(`the client lost its connection in ${mode}: ${report}`);
    const beats = (await readFile(log, 'utf8')).match(/^HB (\d+)$/gm)?.map((line) => Number(line.slice(3))) ?? [];
    const heartbeatGapMs = beats.slice(1).reduce((longest, t, i) => Math.max(longest, t - (beats[i] as number)), 0);
    await endTree(result.destinationPid);
    return {
      downtimeMs: seen.longestGapMs,
      heartbeatGapMs,
      probeGapMs: result.clientDowntimeMs,
      frozenMs: result.frozenMs,
      totalMs: result.totalMs,
      bytesOnWire: result.bytesOnWire,
      rounds: result.rounds?.length ?? 0,
      mode: result.mode,
      freezeSteps: result.freezeSteps,
    };
  }
}

/** The median of each step of the freeze over the runs that report them ('' when none do). */
function freezeBreakdown(runs: Run[]): string {
  const reported = runs.map((r) => r.freezeSteps).filter((s): s is Record<string, number> => s !== undefined);
  if (reported.length === 0) return '';
  const keys = Object.keys(reported[0] as Record<string, number>);
  return `; freeze: ${keys.map((k) => `${k.replace(/Ms$/, '')} ${median(reported.map((s) => s[k] ?? Number.NaN)).toFixed(0)} ms`).join(', ')}`;
}
