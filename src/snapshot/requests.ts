// `freezedry snapshot PID`: a process that called acceptSnapshotRequests() listens on a unix
// socket under /run/freezedry/snapshots (root only), named by its host pid. A request is one
// JSON line; the process answers on that connection only while nothing is dumped yet (a
// refusal, a failed hook) and closes it before its dump: a connection to a process outside the
// tree cannot be checkpointed. The outcome goes to the requester's own socket (`replyTo`):
// from the process once its after-restore hooks ran, or from the snapshot agent when the
// process ended with its snapshot.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, FreezedryError, isFreezedryError, reportedError, ValidationError } from '../errors.js';
import { afterRestore, beforeSnapshot } from './hooks.js';
import { snapshotWith, type SnapshotOptions } from './snapshot.js';

export const REQUESTS_DIR = '/run/freezedry/snapshots';
const REQUEST_TIMEOUT_MS = 5000;
const MAX_REQUEST_BYTES = 64 * 1024;

/** What a requester sends. */
export interface SnapshotRequest {
  target: Pick<SnapshotOptions, 'imagesDir' | 'archive' | 'name' | 'storeRoot'>;
  leaveRunning?: boolean;
  /** The requester's unix socket, where the outcome goes. */
  replyTo: string;
}

/** What the requester hears, on its connection (refused) or on replyTo (done). */
export type SnapshotReply = { ok: true; checkpoint?: unknown } | { ok: false; error: { code: string; message: string } };

export function requestSocket(hostPid: number): string {
  return path.join(REQUESTS_DIR, `${hostPid}.sock`);
}

let stopAccepting: (() => void) | undefined;

/**
 * Lets `freezedry snapshot PID` ask this process to snapshot itself, at a safe point of its own
 * (between two turns of its event loop). The listener is closed while a snapshot is taken and
 * reopened after it, in the original and in every copy (under the copy's host pid).
 */
export async function acceptSnapshotRequests(): Promise<() => void> {
  if (stopAccepting) return stopAccepting;
  let server: net.Server | undefined;
  let socketFile: string | undefined;
  const open = async (hostPid: number) => {
    mkdirSync(REQUESTS_DIR, { recursive: true, mode: 0o700 });
    chmodSync(REQUESTS_DIR, 0o700);
    socketFile = requestSocket(hostPid);
    sweepStaleSockets();
    rmSync(socketFile, { force: true });
    const listening = net.createServer(serve);
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(socketFile, () => resolve());
    });
    listening.unref(); // requests alone do not keep the process alive
    server = listening;
  };
  // Stops listening at once (its fd is closed now); the request being served, if any, is
  // closed by its own handler before the dump.
  const close = () => {
    server?.close();
    server = undefined;
    if (socketFile) rmSync(socketFile, { force: true });
  };
  const unregisterBefore = beforeSnapshot(close, { name: 'freezedry snapshot requests' });
  const unregisterAfter = afterRestore((context) => (server ? undefined : open(context.hostPid ?? process.pid)), { name: 'freezedry snapshot requests' });
  await open(process.pid);
  process.on('exit', close); // a process that exits leaves no socket behind (one killed does)
  stopAccepting = () => {
    unregisterBefore();
    unregisterAfter();
    process.off('exit', close);
    close();
    stopAccepting = undefined;
  };
  return stopAccepting;
}

/** Removes the sockets of processes that are gone (killed ones cannot remove their own). */
function sweepStaleSockets(): void {
  for (const name of readdirSync(REQUESTS_DIR)) {
    const pid = /^(\d+)\.sock$/.exec(name)?.[1];
    if (pid && !existsSync(`/proc/${pid}`)) rmSync(path.join(REQUESTS_DIR, name), { force: true });
  }
}

function serve(connection: net.Socket): void {
  let text = '';
  connection.setTimeout(REQUEST_TIMEOUT_MS, () => connection.destroy());
  connection.on('error', () => {});
  connection.on('data', (chunk) => {
    text += chunk.toString('utf8');
    if (text.length > MAX_REQUEST_BYTES) return connection.destroy();
    const end = text.indexOf('\n');
    if (end < 0) return;
    connection.removeAllListeners('data');
    void handle(connection, text.slice(0, end));
  });
}

async function handle(connection: net.Socket, line: string): Promise<void> {
  const refuse = (error: unknown) => {
    const reply: SnapshotReply = { ok: false, error: describe(error) };
    connection.end(`${JSON.stringify(reply)}\n`);
  };
  let request: SnapshotRequest;
  try {
    request = parseRequest(line);
  } catch (error) {
    return refuse(error);
  }
  let dumping = false;
  try {
    const result = await snapshotWith(
      { ...request.target, leaveRunning: request.leaveRunning },
      {
        replyTo: request.replyTo,
        beforeDump: async () => {
          dumping = true;
          await new Promise<void>((resolve) => connection.end(`${JSON.stringify({ accepted: true })}\n`, () => resolve()));
          connection.destroy();
        },
      },
    );
    if (!result.restored) await sendReply(request.replyTo, { ok: true, checkpoint: result.checkpoint });
  } catch (error) {
    if (dumping) await sendReply(request.replyTo, { ok: false, error: describe(error) });
    else refuse(error);
  }
}

function parseRequest(line: string): SnapshotRequest {
  const value = JSON.parse(line) as Partial<SnapshotRequest>;
  const target = value.target ?? {};
  const strings = [target.imagesDir, target.archive, target.name, target.storeRoot].filter((v) => v !== undefined);
  if (typeof value.replyTo !== 'string' || !path.isAbsolute(value.replyTo) || !strings.every((v) => typeof v === 'string')) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'a snapshot request needs string targets and an absolute replyTo socket');
  }
  if (value.leaveRunning !== undefined && typeof value.leaveRunning !== 'boolean') {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, 'leaveRunning must be a boolean');
  }
  return { target: { imagesDir: target.imagesDir, archive: target.archive, name: target.name, storeRoot: target.storeRoot }, leaveRunning: value.leaveRunning, replyTo: value.replyTo };
}

function describe(error: unknown): { code: string; message: string } {
  return { code: isFreezedryError(error) ? error.code : ErrorCode.INTERNAL, message: error instanceof Error ? error.message : String(error) };
}

/** Sends the outcome to the requester's socket (it may have stopped listening: then nobody hears it). */
export function sendReply(replyTo: string, reply: SnapshotReply): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(replyTo);
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.on('connect', () => socket.end(`${JSON.stringify(reply)}\n`));
  });
}

export interface RequestSnapshotOptions {
  imagesDir?: string;
  archive?: string;
  name?: string;
  storeRoot?: string;
  /** Keep it running after the snapshot (default true). */
  leaveRunning?: boolean;
  /** How long to wait for the outcome (default 10 minutes). */
  timeoutMs?: number;
}

/** Asks process `pid` (which called acceptSnapshotRequests()) to snapshot itself; resolves with what it wrote. */
export async function requestSnapshot(pid: number, options: RequestSnapshotOptions): Promise<{ checkpoint?: unknown }> {
  const socketFile = requestSocket(pid);
  if (!existsSync(`/proc/${pid}`)) throw new FreezedryError(ErrorCode.NO_SUCH_PROCESS, `No process with pid ${pid}`, { pid });
  if (!existsSync(socketFile)) {
    throw new FreezedryError(ErrorCode.SNAPSHOT_NOT_ENABLED, `process ${pid} does not take snapshot requests (${socketFile} is missing): it must call acceptSnapshotRequests()`, { pid });
  }
  const replyDir = mkdtempSync(path.join(os.tmpdir(), 'freezedry-snapshot-'));
  const replyTo = path.join(replyDir, 'reply.sock');
  const replies = net.createServer();
  try {
    const outcome = new Promise<SnapshotReply>((resolve) => {
      replies.on('connection', (socket) => readLine(socket).then((line) => line && resolve(JSON.parse(line) as SnapshotReply)));
    });
    await new Promise<void>((resolve, reject) => {
      replies.once('error', reject);
      replies.listen(replyTo, () => resolve());
    });
    const target = { imagesDir: absolute(options.imagesDir), archive: absolute(options.archive), name: options.name, storeRoot: absolute(options.storeRoot) };
    const request: SnapshotRequest = { target, leaveRunning: options.leaveRunning, replyTo };
    const first = await ask(socketFile, request);
    if (first && 'ok' in first && !first.ok) throw reportedError(first.error);
    const timeoutMs = options.timeoutMs ?? 10 * 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FreezedryError(ErrorCode.CRIU_TIMEOUT, `process ${pid} did not report its snapshot within ${timeoutMs} ms`)), timeoutMs);
    });
    const reply = await Promise.race([outcome, timedOut]).finally(() => clearTimeout(timer));
    if (!reply.ok) throw reportedError(reply.error);
    return { checkpoint: reply.checkpoint };
  } finally {
    replies.close();
    rmSync(replyDir, { recursive: true, force: true });
  }
}

function absolute(file: string | undefined): string | undefined {
  return file === undefined ? undefined : path.resolve(file);
}

/** Sends the request; resolves with the process's refusal, or `accepted`, or undefined if it hung up. */
function ask(socketFile: string, request: SnapshotRequest): Promise<SnapshotReply | { accepted: true } | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketFile);
    socket.on('error', (cause) =>
      reject(new FreezedryError(ErrorCode.SNAPSHOT_NOT_ENABLED, `cannot reach ${socketFile}: ${cause.message}`, { cause })),
    );
    socket.on('connect', () => {
      socket.write(`${JSON.stringify(request)}\n`);
      readLine(socket).then((line) => resolve(line ? (JSON.parse(line) as SnapshotReply | { accepted: true }) : undefined), reject);
    });
  });
}

function readLine(socket: net.Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    socket.setTimeout(REQUEST_TIMEOUT_MS * 12, () => socket.destroy());
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (text.length > MAX_REQUEST_BYTES) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(text.split('\n')[0] || undefined));
  });
}
