// The benchmark harness: repeats, medians and ratios against a peer measured in the same run.
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateCriu } from '../criu/locate.js';
import { runChild } from '../process/child.js';
import { commandArgs, processTree } from '../process/proc.js';
import { compileC } from './compile-c.js';
import type { TestHost } from './network-hosts.js';

/**
 * Runs a command to its end, as the benchmark times commands: started without a fork() of this
 * process (process/child.ts), whose size (hundreds of MB after a few scenarios, ~10 ms a fork)
 * would otherwise be part of every command's time, ours and the peers' alike.
 */
export function exec(file: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  return runChild([file, ...args], options);
}
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The freezedry command as users run it: bin/freezedry, which starts the CLI from its start-up snapshot. */
export const freezedryCommand = path.join(packageRoot, 'bin', 'freezedry');

export type Unit = 'ms' | 'MB/s' | '%' | 'MiB';

export interface Measurement {
  scenario: string;
  /** What was measured, e.g. "dump 1 GiB". */
  case: string;
  tool: string;
  samples: number[];
  unit: Unit;
  /** The plot a measurement belongs to (e.g. "dump wall time"); those without one are only tabled. */
  metric?: string;
  /** Its place on that plot's x axis: a size, a write rate, or a category. */
  x?: { label: string; value: number | string };
  /** Whether the images were in the page cache (a restore's read) or dropped before. */
  cache?: 'warm' | 'cold';
  /** A target drawn beside the series it is for (a dashed line), not a measurement. */
  target?: boolean;
}

export interface Comparison {
  scenario: string;
  case: string;
  ours: string;
  peer: string;
  oursMedian: number;
  peerMedian: number;
  unit: Unit;
  /** The median of ours / peer taken pair by pair (sample i with sample i), or of the medians when unpaired. */
  ratio: number;
  /** ours - peer, for times. */
  difference: number;
  /** The samples' spread, each side. */
  oursSpread: Spread;
  peerSpread: Spread;
  target?: string;
  met?: boolean;
}

export interface Spread {
  min: number;
  max: number;
  n: number;
}

export function spreadOf(samples: number[]): Spread {
  const finite = samples.filter(Number.isFinite);
  return { min: Math.min(...finite), max: Math.max(...finite), n: finite.length };
}

/** What every scenario is given: the command line's choices, resolved. */
export interface BenchOptions {
  quick: boolean;
  /** Memory sizes in MiB for the curves. */
  sizes: number[];
  /** Repeats per case; undefined: each scenario's default (5 for a full run, fewer where a case is long). */
  repeats?: number;
  cache: ('warm' | 'cold')[];
  /** The migration link's rate (tc notation), e.g. "1gbit". */
  link: string;
  progress: BenchProgress;
  /** Where a scenario keeps what the commands it ran said (a migration's log), to explain an outlier afterwards. */
  logDir?: string;
}

export interface ScenarioResult {
  comparisons: Comparison[];
  measurements: Measurement[];
  notes?: string[];
  /** Parts (a size, a case) that failed while the rest was measured. */
  failures?: PartFailure[];
}

export interface PartFailure {
  part: string;
  error: string;
}

/**
 * Runs each part of a scenario (a size, a case); one that fails is recorded in `failures`, what
 * it left running is ended, and the other parts go on: a failure at 8 GiB must not lose the hour
 * of smaller sizes measured before it.
 */
export async function eachPart<T>(parts: T[], name: (part: T) => string, failures: PartFailure[], measure: (part: T) => Promise<void>): Promise<void> {
  for (const part of parts) {
    try {
      await measure(part);
    } catch (error) {
      failures.push({ part: name(part), error: error instanceof Error ? error.message : String(error) });
      endLeftovers();
    }
  }
}

/** Where the suite says what it is doing: a scenario, a case, its sample i of n. */
export interface BenchProgress {
  scenario(name: string): void;
  sample(caseName: string, index: number, of: number): void;
  /** A line for the log, printed above the progress display. */
  note(text: string): void;
}

/** A size for a label: 256 MiB, 1 GiB. */
export function sizeLabel(mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

export const memoryAxis = (mib: number) => ({ label: 'memory (MiB)', value: mib });

/** A target line for a plot: the peer's median times `factor`, at the peer's x. */
export function targetFor(peer: Measurement, factor: number, describe: string): Measurement {
  return { ...peer, tool: `target: ${describe}`, samples: [median(peer.samples) * factor], target: true };
}

/** Drops the page cache, so the next read comes from the disk (a restore on another host, after a reboot). */
export async function dropCaches(): Promise<void> {
  await exec('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches']);
}

/**
 * The order of a turn's tools: forwards, then backwards, then rotated by one and again both ways
 * (A B C, C B A, B C A, A C B…), so that each goes first as often and none always follows the
 * same one (with two tools: A B, B A, B A, A B).
 */
export function rotation<T>(items: readonly T[], turn: number): T[] {
  const k = Math.floor(turn / 2) % Math.max(items.length, 1);
  const rotated = [...items.slice(k), ...items.slice(0, k)];
  return turn % 2 === 1 ? rotated.reverse() : rotated;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function compare(
  ours: Measurement,
  peer: Measurement,
  target?: { describe: string; met: (c: Omit<Comparison, 'met' | 'target'>) => boolean },
): Comparison {
  // Samples taken in turns (A B A B…) are paired: drift between turns hits both of a pair.
  const paired = ours.samples.length === peer.samples.length && ours.samples.length > 0;
  const ratio = paired ? median(ours.samples.map((v, i) => v / (peer.samples[i] as number))) : median(ours.samples) / median(peer.samples);
  const base = {
    scenario: ours.scenario,
    case: ours.case,
    ours: ours.tool,
    peer: peer.tool,
    oursMedian: median(ours.samples),
    peerMedian: median(peer.samples),
    unit: ours.unit,
    ratio,
    difference: median(ours.samples) - median(peer.samples),
    oursSpread: spreadOf(ours.samples),
    peerSpread: spreadOf(peer.samples),
  };
  return { ...base, target: target?.describe, met: target?.met(base) };
}

/** Compiles a C workload once per source version. */
export async function compileWorkload(name: string): Promise<string> {
  return compileC(path.join(packageRoot, 'bench', 'workloads', `${name}.c`), 'freezedry-bench-bin');
}

export async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await work();
  return [performance.now() - start, value];
}

/** Waits until a pid no longer exists (reaped), so it can be restored in place. */
/**
 * Ends a workload and waits until it and every process below it are gone: a restored tree's
 * root is its pid namespace's init, whose end takes the rest with it.
 */
export async function endTree(pid: number): Promise<void> {
  const members = processTree(pid);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  for (const member of members) await gone(member);
}

export async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits for a workload's log to say READY. */
export async function waitReady(logFile: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if ((await readFile(logFile, 'utf8').catch(() => '')).includes('READY')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`workload never became ready (${logFile})`);
}

/** The CRIU freezedry itself runs: the peer runs the very same binary. */
export function criuBinary(): string {
  return locateCriu();
}

export function formatTable(comparisons: Comparison[]): string {
  const rows = comparisons.map((c) => {
    const value = (v: number) => (c.unit === 'ms' ? `${v.toFixed(1)} ms` : c.unit === 'MB/s' ? `${v.toFixed(0)} MB/s` : `${v.toFixed(1)} ${c.unit}`);
    const diff = c.unit === 'ms' ? ` (${c.difference >= 0 ? '+' : ''}${c.difference.toFixed(1)} ms)` : '';
    const verdict = c.met === undefined ? '' : c.met ? 'met' : 'NOT met';
    return `| ${c.case} | ${c.ours}: ${value(c.oursMedian)} | ${c.peer}: ${value(c.peerMedian)} | ${c.ratio.toFixed(3)}×${diff} | ${c.target ?? ''} | ${verdict} |`;
  });
  return ['| case | freezedry (median) | peer (median) | ratio | target | |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/**
 * Every process a bench run starts inherits this variable, set to the run's pid (workloads
 * restored by CRIU keep their environment), so that a run ends only what it started: never the
 * workloads of another run on the same machine, which share its compiled workloads and markers.
 */
const RUN_VARIABLE = 'FREEZEDRY_BENCH_RUN';

/** Marks this process's future children as this run's (runBench calls it first). */
export function tagThisRun(): void {
  process.env[RUN_VARIABLE] = String(process.pid);
}

function startedByThisRun(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${RUN_VARIABLE}=${process.pid}`);
  } catch {
    return false;
  }
}

/**
 * Ends whatever this run may have left running, on success or failure: its workloads (under
 * whatever pid a restore gave them), the CLI agents it spawned, and CRIU daemons working in
 * its temporary directories; only processes it started (tagThisRun). Returns how many it ended.
 */
export function endLeftovers(): number {
  const markers = [
    path.join(os.tmpdir(), 'freezedry-bench-bin') + path.sep, // compiled workloads
    path.join(packageRoot, 'lib', 'demo', 'state-service.js'),
    path.join(packageRoot, 'bin', 'freezedry.js'),
    path.join(packageRoot, 'lib', 'cli-snapshot') + path.sep, // the CLI started from its snapshot
    path.join(packageRoot, 'bench', 'workloads'),
    path.join(os.tmpdir(), 'freezedry-bench-'), // criu daemons' image directories
  ];
  let ended = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!commandArgs(pid).some((arg) => markers.some((marker) => arg.startsWith(marker))) || !startedByThisRun(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      ended++;
    } catch {
      // gone meanwhile
    }
  }
  return ended;
}

/**
 * One GET on a fresh connection: the response so far once `complete` finds it whole (or the
 * service closes the connection: some workloads keep it open whatever the request says), or
 * undefined if none came within 5 s. A raw socket, not fetch(): polls run every millisecond or
 * two on a two-core machine, and must cost the measured restore as little CPU as they can.
 */
export function getOnce(port: number, complete: (text: string) => boolean, host = '127.0.0.1', path = '/'): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let text = '';
    let answered = false;
    const done = () => {
      socket.destroy();
      resolve(answered ? text : undefined);
    };
    // A connection that never answers (a process frozen mid-restore) must not hold the poll up.
    socket.setTimeout(5000, done);
    socket.on('connect', () => {
      // Nothing listening and the kernel picked the service's port as ours: TCP connected the
      // socket to itself, and it would hold that port against the service. Let it go at once.
      if (socket.localPort === socket.remotePort && socket.localAddress === socket.remoteAddress) return done();
      socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk) => {
      answered = true;
      text += chunk.toString();
      if (complete(text)) done();
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** Whether a service answers a GET on a fresh connection ({"counter":N}, the state service's and memhog's), within 5 s. */
export async function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  const answered = (text: string) => text.includes('"counter"');
  return answered((await getOnce(port, answered, host, '/ping')) ?? '');
}

/**
 * A port for a workload to listen on, below the kernel's ephemeral range (where our own
 * connections' ports come from), so that a poll of a port nobody listens on yet never takes it.
 */
export function servicePort(): number {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // the kernel's default range
  }
  const floor = 10000;
  return floor + Math.floor(Math.random() * Math.max(low - floor - 2000, 1000));
}

/** Polls until the service answers (every millisecond: the time until it does is what is measured), for at most a minute. */
export async function untilAnswers(port: number): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`the service on port ${port} never answered`);
}

/** bench/workloads/keepalive-client.mjs in `host`, once it has its first answer; stop() ends it and returns its report. */
export async function keepaliveClient(host: TestHost, address: string, port: number): Promise<{ child: ChildProcess; stop(): Promise<string> }> {
  const child = host.spawn([process.execPath, path.join(packageRoot, 'bench', 'workloads', 'keepalive-client.mjs'), address, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let said = '';
  let report = '';
  child.stderr?.on('data', (d: Buffer) => (said += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (report += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 400 && !said.includes('READY'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    child,
    stop: async () => {
      child.stdin?.end();
      await exited;
      return report;
    },
  };
}
