// The benchmark harness: repeats, medians and ratios against a peer measured in the same run.
import { execFile, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { commandArgs } from '../lib/process/proc.js';
import { compileC } from '../lib/testing/compile-c.js';
import type { TestHost } from '../lib/testing/network-hosts.js';

export const exec = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../', import.meta.url));

export interface Measurement {
  scenario: string;
  /** What was measured, e.g. "dump 1 GiB". */
  case: string;
  tool: string;
  samples: number[];
  unit: 'ms' | 'MB/s';
}

export interface Comparison {
  scenario: string;
  case: string;
  ours: string;
  peer: string;
  oursMedian: number;
  peerMedian: number;
  unit: 'ms' | 'MB/s';
  /** ours / peer. */
  ratio: number;
  /** ours - peer, for times. */
  difference: number;
  target?: string;
  met?: boolean;
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
  const base = {
    scenario: ours.scenario,
    case: ours.case,
    ours: ours.tool,
    peer: peer.tool,
    oursMedian: median(ours.samples),
    peerMedian: median(peer.samples),
    unit: ours.unit,
    ratio: median(ours.samples) / median(peer.samples),
    difference: median(ours.samples) - median(peer.samples),
  };
  return { ...base, target: target?.describe, met: target?.met(base) };
}

/** Compiles a C workload once per source version. */
export async function compileWorkload(name: string): Promise<string> {
  return compileC(path.join(repoRoot, 'bench', 'workloads', `${name}.c`), 'freezedry-bench-bin');
}

export async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await work();
  return [performance.now() - start, value];
}

/** Waits until a pid no longer exists (reaped), so it can be restored in place. */
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

export function criuBinary(): string {
  const recorded = path.join(repoRoot, '.deps', 'criu-path');
  return process.env.FREEZEDRY_CRIU ?? (existsSync(recorded) ? readFileSync(recorded, 'utf8').trim() : 'criu');
}

export function formatTable(comparisons: Comparison[]): string {
  const rows = comparisons.map((c) => {
    const value = (v: number) => (c.unit === 'ms' ? `${v.toFixed(1)} ms` : `${v.toFixed(0)} MB/s`);
    const diff = c.unit === 'ms' ? ` (${c.difference >= 0 ? '+' : ''}${c.difference.toFixed(1)} ms)` : '';
    const verdict = c.met === undefined ? '' : c.met ? 'met' : 'NOT met';
    return `| ${c.case} | ${value(c.oursMedian)} | ${c.peer}: ${value(c.peerMedian)} | ${c.ratio.toFixed(3)}×${diff} | ${c.target ?? ''} | ${verdict} |`;
  });
  return ['| case | freezedry (median) | peer (median) | ratio | target | |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

export function saveResults(name: string, data: unknown): string {
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2));
  return file;
}

/**
 * Ends whatever the suite may have left running, on success or failure: its workloads (under
 * whatever pid a restore gave them), the CLI agents it spawned, and CRIU daemons working in
 * its temporary directories. Returns how many processes it ended.
 */
export function endLeftovers(): number {
  const markers = [
    path.join(os.tmpdir(), 'freezedry-bench-bin') + path.sep, // compiled workloads
    path.join(repoRoot, 'lib', 'demo', 'state-service.js'),
    path.join(repoRoot, 'bin', 'freezedry.js'),
    path.join(repoRoot, 'bench', 'workloads'),
    path.join(os.tmpdir(), 'freezedry-bench-'), // criu daemons' image directories
  ];
  let ended = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!commandArgs(pid).some((arg) => markers.some((marker) => arg.startsWith(marker)))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      ended++;
    } catch {
      // gone meanwhile
    }
  }
  return ended;
}

/** Whether a service answers a GET on a fresh connection ({"counter":N}, the state service's and memhog's). */
export function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (text.includes('"counter"')) {
        socket.destroy();
        resolve(true);
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(text.includes('"counter"')));
    socket.write('GET /ping HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n');
  });
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
  const child = host.spawn([process.execPath, path.join(repoRoot, 'bench', 'workloads', 'keepalive-client.mjs'), address, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
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
