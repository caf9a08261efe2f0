// What /proc says about processes: existence, state, and the tree below a pid.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessStat {
  pid: number;
  comm: string;
  /** R running, S sleeping, D disk sleep, T stopped, t traced, Z zombie, X dead, … */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  waitStatus?: number;
  /** It has begun to exit (PF_EXITING): it may look running until it is a zombie. */
  exiting: boolean;
  /** When it started, in clock ticks since boot: with the pid, it names one process (pids are reused). */
  startTicks: number;
}

// Field 9 of /proc/PID/stat, the task's flags: set once do_exit begins, before its memory is
// released (so before a lazy restore's userfaultfd sees it go) and before it becomes a zombie.
const PF_EXITING = 0x4;

export function readStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm is parenthesised and may itself contain spaces and parentheses: split at the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  const [state, ppid, pgid, sid] = fields;
  // Field 52, exit_code: a zombie's wait status (how it ended), readable by anyone until reaped.
  const waitStatus = fields.length >= 50 ? Number(fields[49]) : undefined;
  const exiting = (Number(fields[6]) & PF_EXITING) !== 0;
  const startTicks = Number(fields[19]); // field 22, starttime
  return { pid, comm, state: state ?? '?', ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid), waitStatus, exiting, startTicks };
}

const SIGKILL_BIT = 1n << 8n; // signal 9, bit 8 of /proc/PID/status's pending masks

/** Whether a SIGKILL is pending for the process: sent, but it has not yet run to die of it. */
export function killPending(pid: number): boolean {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  return ['ShdPnd', 'SigPnd'].some((field) => {
    const mask = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(text)?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & SIGKILL_BIT) !== 0n;
  });
}

/** The argv of a process ([] once it is gone, or for a kernel thread). */
export function commandArgs(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function commandLine(pid: number): string {
  return commandArgs(pid).join(' ');
}

export function isAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

export function isStopped(stat: ProcessStat | undefined): boolean {
  return stat !== undefined && (stat.state === 'T' || stat.state === 't');
}

/** Children of every thread of a process. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) children.push(...text.split(' ').map(Number));
    } catch {
      // the thread exited meanwhile
    }
  }
  return children;
}

/** The pid and all its descendants, parents before children. */
export function processTree(pid: number): number[] {
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    tree.push(next);
    queue.push(...childrenOf(next));
  }
  return tree;
}

/**
 * Waits until none of `pids` exists any more, zombies included (`zombiesGone`: a zombie counts as
 * gone, for a parent that reaps late); returns those still there.
 */
export async function waitUntilGone(pids: number[], timeoutMs: number, options: { zombiesGone?: boolean } = {}): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  const there = (pid: number) => {
    const stat = readStat(pid);
    return stat !== undefined && !(options.zombiesGone && stat.state === 'Z');
  };
  let left = pids.filter(there);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(5);
    left = left.filter(there);
  }
  return left;
}

/** Resident memory of the given processes, in bytes (an estimate of what a dump writes). */
export function residentBytes(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const kb = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s*(\d+)/m)?.[1];
      total += Number(kb ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/** The name of a signal's number ('SIGKILL' for 9), if it has one. */
export function signalNamed(signal: number): NodeJS.Signals | undefined {
  return (Object.entries(os.constants.signals) as [NodeJS.Signals, number][]).find(([, number]) => number === signal)?.[0];
}

/** Sends `signal` to each pid, in order; a process that is already gone is skipped. */
export function signalEach(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // it exited meanwhile
    }
  }
}

/** The pid of the tracer (a CRIU that seized it, say) that holds `pid`, if one does. */
export function tracerOf(pid: number): number | undefined {
  try {
    const tracer = Number(/^TracerPid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return tracer > 0 ? tracer : undefined;
  } catch {
    return undefined;
  }
}

/** The pid as the process's own (innermost) pid namespace sees it: what CRIU's images use. */
export function namespacePid(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^NSpid:\s*(.+)$/m)?.[1];
    return line ? Number(line.trim().split(/\s+/).at(-1)) : pid;
  } catch {
    return undefined;
  }
}

/** Whether `pid` has a network namespace other than this process's (throws when it is gone). */
export function hasOwnNetns(pid: number): boolean {
  return readlinkSync(`/proc/${pid}/ns/net`) !== readlinkSync('/proc/self/ns/net');
}
