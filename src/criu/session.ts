// One `criu swrk` process and its RPC channel. Requests go out as protobuf messages; CRIU's
// notifications come back in the middle of a request and wait for our answer (criu-internals
// §1.11), which is the caller's (possibly async) handler: a rejection is sent back as a NACK.
import { closeSync } from 'node:fs';
import { ErrorCode, FreezedryError, abortError } from '../errors.js';
import { native, type NativeCriuChannel } from '../native/binding.js';
import { startChild, type Child, type ChildExit } from '../process/child.js';
import { criuEnvironment } from './locate.js';
import { RequestType, decodeResponse, encodeRequest, type RpcRequest, type RpcResponse } from './rpc-schema.js';

export type NotificationName =
  | 'pre-dump'
  | 'network-lock'
  | 'query-ext-files'
  | 'post-dump'
  | 'network-unlock'
  | 'pre-restore'
  | 'setup-namespaces'
  | 'post-setup-namespaces'
  | 'post-restore'
  | 'pre-resume'
  | 'post-resume'
  | 'status-ready'
  | 'orphan-pts-master'
  | (string & {});

export interface CriuNotification {
  name: NotificationName;
  /** The root task's host pid, for setup-namespaces and post-restore. */
  pid?: number;
  /** The pid of the criu process serving this request. */
  criuPid: number;
}

export type NotificationHandler = (notification: CriuNotification) => void | Promise<void>;

export interface RequestOptions {
  onNotification?: NotificationHandler;
  signal?: AbortSignal;
  /** Kill CRIU if the request takes longer than this. */
  timeoutMs?: number;
  /** Kill CRIU when this aborts (only where nothing is left to roll back). */
  kill?: AbortSignal;
  /**
   * Runs just before CRIU is killed (a timeout, `kill`): a killed CRIU lets go of the tasks it
   * holds, which then run as it left them (a dump's sockets in repair mode, say).
   */
  beforeKill?: () => void;
}

export interface RequestOutcome {
  response: RpcResponse;
  /** Set when we answered a notification with a NACK, and why. */
  rejected?: { notification: NotificationName; reason: unknown };
}

interface Pending {
  resolve: (outcome: RequestOutcome) => void;
  reject: (error: unknown) => void;
  options: RequestOptions;
  rejected?: RequestOutcome['rejected'];
}

const OUTPUT_TAIL_BYTES = 16 * 1024;

/** The fd in `criu swrk` of the first of a session's inheritFds (fd 3 is its RPC channel). */
export const FIRST_INHERITED_FD = 4;

export class CriuSession {
  readonly criuPath: string;
  readonly exited: Promise<ChildExit>;
  private readonly channel: NativeCriuChannel;
  private readonly child: Child | undefined;
  private pending: Pending | undefined;
  private events: Promise<void> = Promise.resolve();
  private closed = false;
  private timedOut = false;
  private spawnError: Error | undefined;

  /**
   * Spawns `criu swrk`; `inheritFds` become fds 4, 5, … in CRIU (for ps.fd and inherit_fd). The
   * session owns them: our copies are closed once CRIU has its own, so that a socket's other end
   * sees end-of-stream when CRIU exits. `launcher` is a command CRIU runs under (one that execs
   * it in new namespaces and exits with its status). `environment` is added to CRIU's own.
   */
  constructor(criuPath: string, inheritFds: number[] = [], launcher: string[] = [], environment?: Record<string, string>) {
    this.criuPath = criuPath;
    this.channel = new (native().CriuChannel)((kind, data, fd) => {
      // Events are handled strictly in order: a notification's answer precedes the next message.
      this.events = this.events.then(() => this.onChannelEvent(kind, data, fd));
    });
    // --no-default-config: the host's /etc/criu/default.conf must not change what we asked for.
    const command = [...launcher, criuPath, '--no-default-config', 'swrk', '3'];
    try {
      // Not child_process: no fork() of this process (process/child.ts).
      this.child = startChild(command, { extraFds: [this.channel.peerFd, ...inheritFds], env: { ...process.env, ...criuEnvironment(), ...environment }, outputTailBytes: OUTPUT_TAIL_BYTES });
    } catch (error) {
      this.spawnError = error as Error;
    } finally {
      this.channel.closePeer();
      for (const fd of inheritFds) closeSync(fd);
    }
    this.exited = this.child ? this.child.exited : Promise.resolve({ code: null, signal: null });
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  private kill(): void {
    this.child?.kill();
  }

  /** What criu printed on stdout and stderr (the last 16 KiB of each). */
  get consoleOutput(): string {
    return this.child ? this.child.stdout() + this.child.stderr() : '';
  }

  request(request: RpcRequest, options: RequestOptions = {}): Promise<RequestOutcome> {
    if (this.pending) throw new Error('CriuSession: one request at a time');
    if (this.closed) {
      return Promise.reject(new FreezedryError(ErrorCode.CRIU_DIED, `criu (${this.criuPath}) has already exited`));
    }
    if (options.signal?.aborted && request.type !== RequestType.DUMP && request.type !== RequestType.RESTORE) {
      return Promise.reject(abortError(options.signal));
    }
    return new Promise<RequestOutcome>((resolve, reject) => {
      const pending: Pending = { resolve, reject, options };
      this.pending = pending;
      let timer: NodeJS.Timeout | undefined;
      const killNow = () => {
        options.beforeKill?.();
        this.kill();
      };
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.timedOut = true;
          killNow();
        }, options.timeoutMs);
      }
      options.kill?.addEventListener('abort', killNow);
      if (options.kill?.aborted) killNow();
      this.channel.ref();
      const settle = () => {
        this.channel.unref();
        options.kill?.removeEventListener('abort', killNow);
        if (timer) clearTimeout(timer);
        if (this.pending === pending) this.pending = undefined;
      };
      pending.resolve = (outcome) => {
        settle();
        resolve(outcome);
      };
      pending.reject = (error) => {
        settle();
        reject(error);
      };
      try {
        this.channel.send(encodeRequest(request));
      } catch (cause) {
        pending.reject(new FreezedryError(ErrorCode.CRIU_DIED, `cannot send a request to criu: ${(cause as Error).message}`, { cause }));
      }
    });
  }

  private async onChannelEvent(kind: 'message' | 'closed' | 'error', data?: Buffer | Error, fd?: number): Promise<void> {
    if (kind === 'message') {
      try {
        await this.onMessage(data as Buffer, fd);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      return;
    }
    this.closed = true;
    const pending = this.pending;
    if (!pending) return;
    if (kind === 'error') {
      pending.reject(new FreezedryError(ErrorCode.CRIU_PROTOCOL, `CRIU channel failed: ${(data as Error).message}`, { cause: data }));
      return;
    }
    const { code, signal } = await this.exited;
    if (this.spawnError) {
      pending.reject(new FreezedryError(ErrorCode.CRIU_NOT_FOUND, `cannot start ${this.criuPath}: ${this.spawnError.message}`, { cause: this.spawnError }));
    } else if (this.timedOut) {
      pending.reject(
        new FreezedryError(ErrorCode.CRIU_TIMEOUT, `criu did not answer within ${pending.options.timeoutMs} ms and was killed`, {
          criuPid: this.pid,
        }),
      );
    } else {
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      const said = this.consoleOutput.trim().split('\n').slice(-3).join('; ');
      pending.reject(
        new FreezedryError(ErrorCode.CRIU_DIED, `criu ${how} before answering${said ? `: ${said}` : ''}`, {
          criuPid: this.pid,
          exitCode: code,
          signal,
        }),
      );
    }
  }

  private async onMessage(bytes: Buffer, fd: number | undefined): Promise<void> {
    const pending = this.pending;
    let response: RpcResponse;
    try {
      response = decodeResponse(bytes);
    } catch (cause) {
      pending?.reject(new FreezedryError(ErrorCode.CRIU_PROTOCOL, `undecodable message from criu: ${(cause as Error).message}`, { cause }));
      return;
    }
    if (response.type !== RequestType.NOTIFY) {
      pending?.resolve({ response, rejected: pending.rejected });
      return;
    }
    const name = response.notify?.script ?? '';
    let ok = true;
    if (pending?.options.signal?.aborted) {
      ok = false;
      pending.rejected ??= { notification: name, reason: abortError(pending.options.signal) };
    } else if (pending?.options.onNotification) {
      try {
        await pending.options.onNotification({ name, pid: response.notify?.pid, criuPid: this.pid });
      } catch (reason) {
        ok = false;
        pending.rejected ??= { notification: name, reason };
      }
      // An abort that came while the handler ran is honoured at this very notification.
      if (ok && pending.options.signal?.aborted) {
        ok = false;
        pending.rejected ??= { notification: name, reason: abortError(pending.options.signal) };
      }
    }
    void fd; // an fd passed with a notification (orphan-pts-master) is not used yet
    try {
      this.channel.send(encodeRequest({ type: RequestType.NOTIFY, notifySuccess: ok }));
    } catch {
      // criu is gone; the 'closed' event reports it
    }
  }

  /** Ends the session: closes the channel, so criu exits, and kills it if it lingers. */
  async close(): Promise<void> {
    this.channel.close();
    if (this.child && !this.child.hasExited()) {
      const timer = setTimeout(() => this.kill(), 5000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
