// snapshot(): a process checkpoints itself, as libcriu's self-dump and OpenJDK CRaC do. CRIU
// cannot run in the tree it dumps, so a snapshot agent outside it does the dump (spawned
// through `setsid --fork`, it is re-parented away from us at once). Like fork(), the call
// returns twice over the process's life: in the original with `restored: false`, and in each
// copy restored from the snapshot with `restored: true`.
//
// How a copy knows it is one: while it is dumped, the process waits on a pipe whose other end
// the agent holds. The agent answers the original through it; a restore puts its own pipe in
// its place (CRIU's inherit-fd) and answers the copy with its environment. A second pipe
// carries the copy's after-restore report back to its restorer.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, read, fstatSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import type { CheckpointResult } from '../operations/checkpoint.js';
import { locateCriu } from '../criu/locate.js';
import { CRIU_SWITCHES, validateCriuOptions, type CriuOptions } from '../criu/options.js';
import { ErrorCode, FreezedryError, ValidationError, isFreezedryError, reportedError } from '../errors.js';
import { prepareDumpDir } from '../images/images-dir.js';
import { native } from '../native/binding.js';
import { assertRoot } from '../process/privileges.js';
import { readStat } from '../process/proc.js';
import { newStoreEntry } from '../store.js';
import { snapshotFacts } from './facts.js';
import { runAfterRestore, runBeforeSnapshot, type RestoreContext } from './hooks.js';

export interface SnapshotOptions extends Omit<CriuOptions, 'onNotification' | 'signal'> {
  /** Images go into this new or empty directory… */
  imagesDir?: string;
  /** …or into this compressed archive (.tar.zst)… */
  archive?: string;
  /** …or into the local store under this name. */
  name?: string;
  storeRoot?: string;
  /** Keep running after the snapshot (default true); false ends the process with it. */
  leaveRunning?: boolean;
}

export interface SnapshotResult extends RestoreContext {
  /** In the original: what was written. */
  checkpoint?: Pick<CheckpointResult, 'imagesDir' | 'archive' | 'durationMs' | 'stats'>;
}

/** What the agent is asked to do (argv[2] of agent.js, JSON). */
export interface AgentRequest {
  pid: number;
  target: Pick<SnapshotOptions, 'imagesDir' | 'archive' | 'name' | 'storeRoot'>;
  leaveRunning: boolean;
  criu: CriuOptions;
  facts: ReturnType<typeof snapshotFacts>;
  /** A `freezedry snapshot` requester's socket: the agent tells it the outcome too. */
  replyTo?: string;
}

/** What acceptSnapshotRequests() adds to a snapshot it was asked for. */
export interface SnapshotInternals {
  replyTo?: string;
  /** Called once the hooks ran, just before the agent starts (nothing outside may stay open). */
  beforeDump?: () => Promise<void>;
}

/** What comes through the context pipe: from the agent (original) or a restore (copy). */
export type SnapshotAnswer =
  | { restored: false; ok: true; checkpoint: SnapshotResult['checkpoint'] }
  | { restored: false; ok: false; error: { code: string; message: string; logFile?: string; criuErrors?: string[] } }
  | { restored: true; env: Record<string, string>; hostPid: number };

/** What a copy writes to its restorer once its after-restore hooks ran. */
export type CopyReport = { ready: true } | { ready: false; error: { code: string; message: string } };

let inProgress = false;

export function snapshot(options: SnapshotOptions): Promise<SnapshotResult> {
  return snapshotWith(options, {});
}

export async function snapshotWith(options: SnapshotOptions, internals: SnapshotInternals): Promise<SnapshotResult> {
  if (!isMainThread) {
    throw new FreezedryError(ErrorCode.SNAPSHOT_BUSY, 'snapshot() must be called from the main thread: a worker thread cannot pause its process at a safe point');
  }
  if (inProgress) throw new FreezedryError(ErrorCode.SNAPSHOT_BUSY, 'a snapshot of this process is already in progress');
  inProgress = true;
  try {
    const request = await prepare(options);
    try {
      await runBeforeSnapshot();
      await internals.beforeDump?.();
    } catch (error) {
      await restoreOriginal(error);
      throw error;
    }
    return await takeSnapshot({ ...request, replyTo: internals.replyTo });
  } finally {
    inProgress = false;
  }
}

/** Everything checked before a hook runs: a refusal must leave the service untouched. */
async function prepare(options: SnapshotOptions): Promise<Omit<AgentRequest, 'facts' | 'replyTo'>> {
  const targets = [options?.imagesDir, options?.archive, options?.name].filter((t) => t !== undefined);
  if (targets.length !== 1) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'snapshot needs exactly one of imagesDir, archive and name');
  validateCriuOptions(options);
  if (options.leaveRunning !== undefined && typeof options.leaveRunning !== 'boolean') {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, 'leaveRunning must be a boolean');
  }
  assertRoot('snapshot');
  locateCriu(options.criu);
  if (process.pid === 1) {
    throw new FreezedryError(
      ErrorCode.UNSUPPORTED_CHECKPOINT,
      'this process is the init of its own pid namespace (as under freezedry run): no snapshot agent can live outside its tree; checkpoint it from outside with freezedry dump',
    );
  }
  const target = { imagesDir: options.imagesDir, archive: options.archive, name: options.name, storeRoot: options.storeRoot };
  if (target.imagesDir !== undefined) {
    target.imagesDir = path.resolve(target.imagesDir);
    await prepareDumpDir(target.imagesDir);
  }
  const file = target.archive !== undefined ? path.resolve(target.archive) : target.name !== undefined ? await newStoreEntry(target.name, target.storeRoot) : undefined;
  if (target.archive !== undefined) target.archive = file;
  if (file && (await stat(file).catch(() => undefined))) {
    throw new FreezedryError(ErrorCode.ARCHIVE_EXISTS, `${file} already exists`, { path: file });
  }
  const criu: CriuOptions = { criu: options.criu, logLevel: options.logLevel, networkLock: options.networkLock, external: options.external, workDir: options.workDir, timeoutMs: options.timeoutMs };
  for (const { name } of CRIU_SWITCHES) criu[name] = options[name];
  // A service started from a shell or a supervisor's session is not a session leader, which
  // CRIU refuses without --shell-job (its copies then join their restorer's session).
  if (criu.shellJob === undefined && readStat(process.pid)?.sid !== process.pid) criu.shellJob = true;
  return { pid: process.pid, target, leaveRunning: options.leaveRunning ?? true, criu };
}

async function takeSnapshot(request: Omit<AgentRequest, 'facts'>): Promise<SnapshotResult> {
  const [contextRead, contextWrite] = native().pipe();
  const [reportRead, reportWrite] = native().pipe();
  let answer: SnapshotAnswer;
  try {
    const facts = snapshotFacts(process.pid, fstatSync(contextRead).ino, fstatSync(reportWrite).ino, request.criu);
    // The read is in flight before the agent starts: it is where this process waits while dumped.
    const answered = readToEnd(contextRead);
    try {
      startAgent({ ...request, facts }, contextWrite, reportRead);
    } finally {
      closeSync(contextWrite);
      closeSync(reportRead);
    }
    answer = parseAnswer(await answered);
  } catch (error) {
    closeSync(contextRead);
    closeSync(reportWrite);
    await restoreOriginal(error);
    throw error;
  }
  closeSync(contextRead);
  if (answer.restored) return becomeCopy(answer, reportWrite);
  closeSync(reportWrite);
  if (!answer.ok) {
    const error = reportedError(answer.error, { logFile: answer.error.logFile, criuErrors: answer.error.criuErrors });
    await restoreOriginal(error);
    throw error;
  }
  await runAfterRestore({ restored: false, env: {} });
  return { restored: false, env: {}, checkpoint: answer.checkpoint };
}

/** A copy: take its environment, run the after-restore hooks, and tell the restorer how they went. */
async function becomeCopy(answer: Extract<SnapshotAnswer, { restored: true }>, reportFd: number): Promise<SnapshotResult> {
  const context: RestoreContext = { restored: true, env: answer.env, hostPid: answer.hostPid };
  Object.assign(process.env, answer.env);
  forgetInheritedRandomness();
  let report: CopyReport = { ready: true };
  try {
    await runAfterRestore(context);
  } catch (error) {
    const code = isFreezedryError(error) ? error.code : ErrorCode.SNAPSHOT_HOOK_FAILED;
    report = { ready: false, error: { code, message: (error as Error).message } };
  }
  try {
    writeSync(reportFd, `${JSON.stringify(report)}\n`);
  } catch {
    // the restorer is gone; the copy's fate is still decided below
  }
  closeSync(reportFd);
  // Never a half-initialised copy: one whose hooks failed ends here, its reason already told.
  if (!report.ready) process.exit(1);
  return context;
}

/**
 * Every copy starts with the original's random generators. OpenSSL's (behind crypto) is
 * reseeded from the kernel, and crypto.randomUUID's cache of pre-drawn bytes (128 UUIDs) is
 * drained so that it refills from the reseeded generator. V8's Math.random cannot be reseeded.
 */
function forgetInheritedRandomness(): void {
  native().reseedRandom();
  for (let i = 0; i < 128; i++) randomUUID();
}

/** After a failed or refused snapshot the original runs its after-restore hooks, to reopen what it closed. */
async function restoreOriginal(cause: unknown): Promise<void> {
  try {
    await runAfterRestore({ restored: false, env: {} });
  } catch (error) {
    if (cause instanceof FreezedryError) cause.details.afterRestoreError = (error as Error).message;
  }
}

function startAgent(request: AgentRequest, contextWrite: number, reportRead: number): void {
  const logDir = path.join(os.tmpdir(), 'freezedry');
  mkdirSync(logDir, { recursive: true });
  const log = openSync(path.join(logDir, `snapshot-agent-${process.pid}.log`), 'a');
  try {
    // setsid --fork: the agent's parent exits at once, so the agent is not in our tree.
    const child = spawn('setsid', ['--fork', process.execPath, agentScript(), JSON.stringify(request)], {
      stdio: ['ignore', log, log, contextWrite, reportRead],
      detached: true,
    });
    child.on('error', () => {}); // a missing setsid: the agent never answers, readToEnd sees end-of-file
    child.unref();
  } finally {
    closeSync(log);
  }
}

function agentScript(): string {
  const here = fileURLToPath(new URL('./agent.js', import.meta.url));
  if (existsSync(here)) return here;
  // Run from the TypeScript sources (tests): the compiled agent.
  return fileURLToPath(new URL('../../lib/snapshot/agent.js', import.meta.url));
}

/** Reads a blocking pipe until end-of-file (in libuv's thread pool). */
function readToEnd(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(64 * 1024);
    const next = () =>
      read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
        if (error) return reject(error);
        if (bytes === 0) return resolve(Buffer.concat(chunks).toString('utf8'));
        chunks.push(Buffer.from(buffer.subarray(0, bytes)));
        if (chunks.length > 16) return reject(new Error('the snapshot answer is larger than 1 MiB'));
        next();
      });
    next();
  });
}

function parseAnswer(text: string): SnapshotAnswer {
  if (text.trim() === '') {
    throw new FreezedryError(
      ErrorCode.CRIU_DUMP_FAILED,
      `the snapshot agent ended without an answer [log: ${path.join(os.tmpdir(), 'freezedry', `snapshot-agent-${process.pid}.log`)}]`,
    );
  }
  try {
    return JSON.parse(text) as SnapshotAnswer;
  } catch (cause) {
    throw new FreezedryError(ErrorCode.INTERNAL, `unreadable snapshot answer: ${text.slice(0, 200)}`, { cause });
  }
}
