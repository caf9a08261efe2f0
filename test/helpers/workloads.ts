// Real workloads for the integration tests, and ways to talk to them.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { compileC } from '../../src/bench/compile-c.js';
import { afterAll, beforeAll } from 'vitest';
import { run, type RunResult } from '../../src/run.js';
import { processTree, readStat, signalEach } from '../../src/process/proc.js';

const exec = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The freezedry command as users run it: bin/freezedry, which starts the CLI from its start-up snapshot. */
export const freezedryCommand = path.join(repoRoot, 'bin', 'freezedry');
export const stateServiceScript = path.join(repoRoot, 'lib', 'demo', 'state-service.js');

export async function tempDir(prefix = 'freezedry-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Runs `body` on a directory under `parent` that is a tmpfs of `size` ('4m'): a disk that fills up. */
export async function onSmallDisk<T>(parent: string, size: string, body: (dir: string) => Promise<T>): Promise<T> {
  const small = await mkdtemp(path.join(parent, 'small-disk-')); // one per call: the lazy unmount leaves it
  await exec('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', small]);
  try {
    return await body(small);
  } finally {
    await exec('umount', ['-l', small]); // lazily: a native writer's fd may close only when collected
  }
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * A temporary directory for one test file, and the processes it started: all are cleaned up
 * after the file's tests, whatever happened.
 */
export function useWorkspace(): { dir: () => string; track: (pid: number) => number } {
  let dir = '';
  const pids: number[] = [];
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    pids.forEach(killTree);
    await removeDir(dir);
  });
  return {
    dir: () => dir,
    track: (pid) => {
      pids.push(pid);
      return pid;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls until `probe` returns a value (not undefined), or throws after timeoutMs. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function logText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function killTree(pid: number | undefined): void {
  if (!pid || !readStat(pid)) return;
  signalEach(processTree(pid).reverse(), 'SIGKILL');
}

export interface ServiceState {
  pid: number;
  counter: number;
  megabytes: number;
  checksum: string;
  startedAt: string;
}

export interface StateService extends RunResult {
  port: number;
}

/** The demo's state service, started through run() in its own pid (and maybe net) namespace. */
export async function startStateService(options: { mb: number; net?: boolean; logDir: string }): Promise<StateService> {
  if (!existsSync(stateServiceScript)) throw new Error(`${stateServiceScript} is missing: run 'npm run build:ts' first`);
  const port = options.net ? 8080 : await freePort();
  const logFile = path.join(options.logDir, `service-${port}-${Date.now()}.log`);
  const started = await run([process.execPath, stateServiceScript, '--port', String(port), '--mb', String(options.mb)], {
    net: options.net,
    logFile,
  });
  await waitFor('the service to listen', () => (logText(logFile).includes('listening') ? true : undefined), 30_000);
  return { ...started, port };
}

/** An HTTP request from inside the network namespace of `pid` (or from here, without one). */
export async function httpRequest(port: number, method: 'GET' | 'POST', pathname: string, netnsOf?: number): Promise<ServiceState> {
  if (netnsOf === undefined) return JSON.parse(await closingRequest(port, method, pathname)) as ServiceState;
  const script = `(${closingRequest.toString()})(${port},'${method}','${pathname}').then(t=>process.stdout.write(t))`;
  const { stdout } = await exec('nsenter', [`--net=/proc/${netnsOf}/ns/net`, process.execPath, '-e', script]);
  return JSON.parse(stdout) as ServiceState;
}

/**
 * One request on its own connection, resolved only once the server has closed it: a pooled
 * keep-alive connection left open would make the next dump refuse a connected TCP socket.
 */
function closingRequest(port: number, method: string, pathname: string): Promise<string> {
  // Self-contained (it also runs through `node -e` inside a network namespace).
  return new Promise((resolve, reject) => {
    const net = process.getBuiltinModule('node:net');
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(text.slice(text.indexOf('\r\n\r\n') + 4)));
    socket.write(`${method} ${pathname} HTTP/1.1\r\nHost: service\r\nConnection: close\r\n\r\n`);
  });
}

/** Compiles a C program (test/fixtures by default) once per source version; returns the binary. */
export async function compileFixture(name: string, folder = path.join('test', 'fixtures')): Promise<string> {
  return compileC(path.join(repoRoot, folder, `${name}.c`), 'freezedry-fixtures');
}

export function isRunningNotStopped(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && !['Z', 'X', 'T', 't'].includes(stat.state);
}

/** Mappings of a process that a userfaultfd write-protects (smaps VmFlags "uw"): a dirty tracker left behind. */
export function writeProtectedMappings(pid: number): [number, number][] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return [];
  }
  const out: [number, number][] = [];
  let current: [number, number] | undefined;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      current = [parseInt(head[1] as string, 16), parseInt(head[2] as string, 16)];
    } else if (current && line.startsWith('VmFlags:') && line.split(/\s+/).includes('uw')) {
      out.push(current);
    }
  }
  return out;
}

/** Runs the freezedry command to its end: its exit status and output. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(freezedryCommand, args);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
