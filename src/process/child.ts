// A child process started through the addon (native/core/spawn.h: posix_spawn, so no fork() of
// this process, whose cost grows with its memory and holds its thread meanwhile), reaped
// through a pidfd. CRIU runs as one (criu/session.ts), and the benchmark runs every command it
// times as one, so that the size of the benchmark's own process is not part of either tool's time.
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { native, type NativeExitWatch } from '../native/binding.js';
import { signalEach, signalNamed } from './proc.js';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildOptions {
  /** Become the child's fds 3, 4, … (the caller closes its own copies once it is started). */
  extraFds?: number[];
  /** Its whole environment (default: ours). */
  env?: NodeJS.ProcessEnv;
  /** Keep the last this many bytes of what it writes on stdout, and on stderr. */
  outputTailBytes?: number;
  /**
   * A helper that must outlive us (a watchdog): in a session of its own, stdio on /dev/null, and
   * not holding this process's event loop open while it runs.
   */
  detached?: boolean;
}

export interface Child {
  pid: number;
  /** Settles when it has exited and its output has ended (a moment at most after its exit). */
  exited: Promise<ChildExit>;
  /** What it wrote so far on stdout, and on stderr (their tails, when outputTailBytes is set). */
  stdout(): string;
  stderr(): string;
  /** SIGKILL, through its pidfd: never to a process that took its pid over. */
  kill(): void;
  hasExited(): boolean;
}

/** Starts argv (argv[0] looked up on PATH); throws the addon's error if it cannot. */
export function startChild(argv: string[], options: ChildOptions = {}): Child {
  const extraFds = options.extraFds ?? [];
  const env = Object.entries(options.env ?? process.env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${value}`);
  const stdio = options.detached ? undefined : { out: native().pipe(), err: native().pipe() };
  let pid: number;
  try {
    const fds = stdio ? [-1, stdio.out[1], stdio.err[1]] : [-1, -1, -1];
    pid = native().spawn(argv, { fds: [...fds, ...extraFds], env, newSession: options.detached });
  } catch (error) {
    if (stdio) [stdio.out[0], stdio.err[0]].forEach((fd) => closeSync(fd));
    throw error;
  } finally {
    if (stdio) [stdio.out[1], stdio.err[1]].forEach((fd) => closeSync(fd));
  }
  const stdout = stdio ? collect(stdio.out[0], options.outputTailBytes) : nothingCollected;
  const stderr = stdio ? collect(stdio.err[0], options.outputTailBytes) : nothingCollected;
  const outputEnded = Promise.all([stdout.ended, stderr.ended]);
  let watch: NativeExitWatch | undefined;
  let gone = false;
  const exited = new Promise<ChildExit>((resolve) => {
    const ended = (result: ChildExit) => {
      gone = true;
      // Its last words are read first (a moment at most: a process it started could hold the pipe).
      void Promise.race([outputEnded, sleep(1000, undefined, { ref: false })]).then(() => {
        stdout.close();
        stderr.close();
        resolve(result);
      });
    };
    try {
      watch = new (native().ExitWatch)(pid, (error, status) => {
        watch?.close();
        ended({ code: error || !status || status.signal ? null : status.code, signal: status?.signal ? (signalNamed(status.signal) ?? null) : null });
      });
    } catch {
      // No pidfd: its end shows as the end of its output (a detached one's is not seen); it is
      // reaped when we exit.
      if (stdio) void outputEnded.then(() => ended({ code: null, signal: null }));
    }
  });
  if (options.detached) watch?.unref();
  return {
    pid,
    exited,
    stdout: () => stdout.text(),
    stderr: () => stderr.text(),
    // Without a pidfd it is never reaped before we exit, so its pid cannot have been reused.
    kill: () => (watch ? void watch.kill(os.constants.signals.SIGKILL) : signalEach([pid], 'SIGKILL')),
    hasExited: () => gone,
  };
}

/** Runs argv to its end: its output, or an error that says how it ended and what it said. */
export async function runChild(argv: string[], options: Omit<ChildOptions, 'extraFds'> = {}): Promise<{ stdout: string; stderr: string }> {
  const child = startChild(argv, options);
  const { code, signal } = await child.exited;
  if (code !== 0) {
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    const said = child.stderr().trim().split('\n').slice(-5).join('; ');
    throw Object.assign(new Error(`${argv.join(' ')} ${how}${said ? `: ${said}` : ''}`), { code, signal, stdout: child.stdout(), stderr: child.stderr() });
  }
  return { stdout: child.stdout(), stderr: child.stderr() };
}

/** Reads a pipe's end into a string (its last `tailBytes`, if set). */
function collect(fd: number, tailBytes = Infinity): { text(): string; ended: Promise<void>; close(): void } {
  let text = '';
  const socket = new Socket({ fd, readable: true, writable: false });
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (text.length > tailBytes) text = text.slice(-tailBytes);
  });
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { text: () => text, ended, close: () => socket.destroy() };
}

const nothingCollected = { text: () => '', ended: Promise.resolve(), close: () => {} };
