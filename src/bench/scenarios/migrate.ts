// Scenario "migrate": a 1 GiB service that keeps rewriting 64 MiB/s of its memory, in its own
// pid and network namespace on host a, moved to host b over a link shaped to 1 Gbit/s, in every
// mode. A client on a third host holds one keep-alive TCP connection to it throughout (the
// connection moves with --tcp-established); the downtime is the longest gap between its answers.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHosts, HOST_BRIDGE } from '../../lib/testing/network-hosts.js';
import { compare, compileWorkload, gone, keepaliveClient, median, repoRoot, type Comparison, type Measurement } from '../harness.js';

const cli = path.join(repoRoot, 'bin', 'freezedry.js');
const ALL_MODES = ['stop-copy', 'pre-copy', 'post-copy', 'hybrid', 'auto'] as const;
// FREEZEDRY_BENCH_MODES=auto runs only those (stop-copy always, as the reference).
const only = process.env.FREEZEDRY_BENCH_MODES?.split(',');
const MODES = ALL_MODES.filter((m) => !only || m === 'stop-copy' || only.includes(m));

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
}

// migrate's own --probe too, unless FREEZEDRY_BENCH_PROBE=0. (It was off while host a lost
// host b after a few migrations: the hosts' bridges changed MAC as veths came and went; the
// agents now pin them.)
const probing = process.env.FREEZEDRY_BENCH_PROBE !== '0';

export async function migrateScenario(options: { quick?: boolean } = {}): Promise<{ comparisons: Comparison[]; measurements: Measurement[]; notes: string[] }> {
  const memhog = await compileWorkload('memhog');
  const mib = options.quick ? 256 : 1024;
  const repeats = options.quick ? 1 : 3;
  const hosts = createHosts({ rate: '1gbit' });
  const notes: string[] = [];
  const downtime = new Map<string, Measurement>();
  const heartbeat = new Map<string, Measurement>();
  const measurements: Measurement[] = [];
  let port = 7200;
  try {
    for (const mode of MODES) {
      const runs: Run[] = [];
      for (let r = 0; r < repeats; r++) runs.push(await migrateOnce(mode, port++));
      const sample = (what: string, values: number[]): Measurement => ({
        scenario: 'migrate',
        case: `${mode} ${mib} MiB over 1 Gbit/s: ${what}`,
        tool: 'freezedry',
        samples: values,
        unit: 'ms',
      });
      const seen = sample('client-observed downtime', runs.map((r) => r.downtimeMs));
      const lived = sample("longest gap in the process's heartbeat", runs.map((r) => r.heartbeatGapMs));
      downtime.set(mode, seen);
      heartbeat.set(mode, lived);
      measurements.push(
        seen,
        lived,
        ...(probing ? [sample("downtime seen by migrate's --probe", runs.map((r) => r.probeGapMs ?? Number.NaN))] : []),
        sample('frozen', runs.map((r) => r.frozenMs)),
        sample('until the source ended', runs.map((r) => r.totalMs)),
      );
      notes.push(
        `${mode}: client-observed downtime ${median(seen.samples).toFixed(0)} ms (samples ${seen.samples.map((s) => s.toFixed(0)).join(', ')}), ` +
          (probing ? `migrate --probe ${median(runs.map((r) => r.probeGapMs ?? Number.NaN)).toFixed(0)} ms, ` : '') +
          `heartbeat gap ${median(lived.samples).toFixed(0)} ms, frozen ${median(runs.map((r) => r.frozenMs)).toFixed(0)} ms, until the source ended ${median(runs.map((r) => r.totalMs)).toFixed(0)} ms, ` +
          `${(median(runs.map((r) => r.bytesOnWire)) / 1048576).toFixed(0)} MiB on the wire for ${mib} MiB of memory` +
          (runs.some((r) => r.rounds > 0) ? `, rounds ${runs.map((r) => r.rounds).join('/')}` : '') +
          (mode === 'auto' ? `; auto chose ${runs.map((r) => r.mode).join(', ')}` : ''),
      );
    }
  } finally {
    hosts.destroy();
  }
  const target = { describe: '≤ 0.05× and ≤ 300 ms', met: (c: { ratio: number; oursMedian: number }) => c.ratio <= 0.05 && c.oursMedian <= 300 };
  const versusStopCopy = (table: Map<string, Measurement>, mode: string) => {
    const ours = table.get(mode) as Measurement;
    return compare(ours, { ...(table.get('stop-copy') as Measurement), case: ours.case, tool: 'stop-copy' }, mode === 'auto' ? target : undefined);
  };
  const others = MODES.filter((m) => m !== 'stop-copy');
  const comparisons: Comparison[] = [...others.map((m) => versusStopCopy(downtime, m)), ...others.map((m) => versusStopCopy(heartbeat, m))];
  return { comparisons, measurements, notes };

  async function migrateOnce(mode: string, listenPort: number): Promise<Run> {
    const log = path.join(os.tmpdir(), `freezedry-bench-migrate-${process.pid}-${listenPort}.log`);
    const argv = [memhog, String(mib), '--dirty', '64', '--serve', '8080', '--heartbeat'];
    const pid = Number(hosts.a.run([process.execPath, cli, 'run', '--net', '--log', log, '--', ...argv]).trim());
    const address = hosts.attachService(hosts.a, pid);
    for (let i = 0; i < 600 && !(await readFile(log, 'utf8').catch(() => '')).includes('SERVING'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const watcher = await keepaliveClient(hosts.client, address, 8080);

    const receiver = hosts.b.spawn([process.execPath, cli, 'receive', '--listen', `${hosts.b.address}:${listenPort}`, '--token', 'bench', '--bridge', HOST_BRIDGE, '--once']);
    let heard = '';
    receiver.stdout?.on('data', (d: Buffer) => (heard += d.toString()));
    receiver.stderr?.on('data', (d: Buffer) => (heard += d.toString()));
    const received = new Promise((resolve) => receiver.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const migrating = hosts.a.spawn([process.execPath, cli, 'migrate', String(pid), '--to', `${hosts.b.address}:${listenPort}`, '--token', 'bench', '--mode', mode, '--tcp-established', ...(probing ? ['--probe', `http://${address}:8080/`] : []), '--json']);
    let out = '';
    migrating.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const migrated = await new Promise((resolve) => migrating.once('exit', resolve));
    // A source that never reached the receiver leaves it waiting for a connection.
    if (migrated !== 0) setTimeout(() => receiver.kill('SIGKILL'), 2000).unref();
    await received;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the client keeps going on the moved service
    const report = await watcher.stop();
    const result = JSON.parse(out) as { clientDowntimeMs?: number; frozenMs: number; totalMs: number; bytesOnWire: number; destinationPid: number; mode: string; rounds?: unknown[]; error?: unknown };
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
    process.kill(result.destinationPid, 'SIGKILL');
    await gone(result.destinationPid);
    return {
      downtimeMs: seen.longestGapMs,
      heartbeatGapMs,
      probeGapMs: result.clientDowntimeMs,
      frozenMs: result.frozenMs,
      totalMs: result.totalMs,
      bytesOnWire: result.bytesOnWire,
      rounds: result.rounds?.length ?? 0,
      mode: result.mode,
    };
  }
}
