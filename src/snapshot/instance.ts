// A copy of a self-snapshot, restored beside the original and other copies: CRIU runs under
// freezedry-init, in a new pid and mount namespace (and network namespace if asked), where the
// pids the copy needs are free. The copy waits on its context pipe; once it runs, we answer it
// (restored, its environment, its host pid) and wait for its after-restore hooks' report.
import { closeSync, read, writeSync } from 'node:fs';
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';
import { FIRST_INHERITED_FD, type CriuNotification, type NotificationHandler } from '../criu/session.js';
import { native, nativeTool } from '../native/binding.js';
import { childrenOf, namespacePid, processTree } from '../process/proc.js';
import type { SnapshotFacts } from './facts.js';
import type { CopyReport, SnapshotAnswer } from './snapshot.js';

export interface InstanceOptions {
  /** Variables the copy's afterRestore hooks see (and its process.env). */
  env?: Record<string, string>;
  /** A network namespace of its own, with only loopback (up). */
  netns?: boolean;
  /** How long the copy's afterRestore hooks may take to report (default 60 s). */
  readyTimeoutMs?: number;
}

export interface InstanceInfo {
  /** The copy's pid inside its namespace: the original's. */
  namespacePid: number;
  /** Host pid of the namespace's init (ending it ends the copy). */
  initPid: number;
  netns: boolean;
}

/** What a write to a pipe nobody reads yet surely takes without blocking (an empty pipe holds more). */
const PIPE_BUF = 4096;

export function validateInstanceOptions(options: InstanceOptions): void {
  const { env, netns, readyTimeoutMs } = options;
  if (env !== undefined && (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string'))) {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, 'env must be an object of strings');
  }
  if (netns !== undefined && typeof netns !== 'boolean') throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, 'netns must be a boolean');
  if (readyTimeoutMs !== undefined && !(Number.isFinite(readyTimeoutMs) && readyTimeoutMs > 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid readyTimeoutMs: must be a positive number of milliseconds, got ${readyTimeoutMs}`);
  }
}

/** One copy being restored: what CRIU needs for it, and the conversation with it afterwards. */
export class SnapshotInstance {
  /** For CRIU: the pipes that replace the snapshot's own (fds 4 and 5 of criu swrk). */
  readonly inheritFds: number[];
  readonly inherit: { key: string; fd: number }[];
  readonly launcher: string[];
  private readonly contextWrite: number;
  private readonly reportRead: number;
  private found: { hostPid: number; initPid: number } | undefined;

  constructor(
    private readonly facts: SnapshotFacts,
    private readonly options: InstanceOptions,
  ) {
    this.launcher = [nativeTool('freezedry-init'), ...(options.netns ? ['--net'] : []), '--'];
    const [contextRead, contextWrite] = native().pipe();
    const [reportRead, reportWrite] = native().pipe();
    this.contextWrite = contextWrite;
    this.reportRead = reportRead;
    this.inheritFds = [contextRead, reportWrite]; // the CRIU session owns (and closes) these
    this.inherit = [
      { key: `pipe:[${facts.contextPipe}]`, fd: FIRST_INHERITED_FD },
      { key: `pipe:[${facts.reportPipe}]`, fd: FIRST_INHERITED_FD + 1 },
    ];
  }

  /**
   * Wraps the caller's notification handler: once CRIU has restored the tree (post-restore,
   * which names the root by its pid inside the namespace), finds the copy's host pid below
   * the launcher while CRIU still runs, and tells the copy at once (the pipe holds the word
   * until CRIU resumes it), so that it need not wait for CRIU's answer and exit.
   */
  notificationHandler(inner: NotificationHandler | undefined): NotificationHandler {
    return async (notification: CriuNotification) => {
      if (notification.name === 'post-restore' && notification.pid !== undefined) {
        this.locate(notification.criuPid, notification.pid);
        if (this.found && Buffer.byteLength(this.answer()) <= PIPE_BUF) this.tell();
      }
      await inner?.(notification);
    };
  }

  private locate(launcherPid: number, pidInside: number): void {
    const initPid = childrenOf(launcherPid)[0];
    if (initPid === undefined) return;
    const hostPid = processTree(initPid).find((pid) => pid !== initPid && namespacePid(pid) === pidInside);
    if (hostPid !== undefined) this.found = { hostPid, initPid };
  }

  /** The copy's host pid (after CRIU's answer). */
  hostPid(): number {
    if (!this.found) throw new FreezedryError(ErrorCode.INTERNAL, 'the restored copy was not found in its new pid namespace');
    return this.found.hostPid;
  }

  info(): InstanceInfo {
    return { namespacePid: this.facts.pid, initPid: this.found?.initPid ?? -1, netns: this.options.netns === true };
  }

  /** Tells the copy it is one (once): it runs its after-restore hooks from then on. */
  tell(): void {
    if (!this.contextOpen) return;
    const answer = this.answer();
    try {
      writeSync(this.contextWrite, answer);
    } finally {
      this.closeContext();
    }
  }

  private answer(): string {
    const answer: SnapshotAnswer = { restored: true, env: this.options.env ?? {}, hostPid: this.hostPid() };
    return JSON.stringify(answer);
  }

  /** Waits for the copy's after-restore hooks to report (after tell()). */
  async ready(): Promise<void> {
    const timeoutMs = this.options.readyTimeoutMs ?? 60_000;
    const report = await readReport(this.reportRead, timeoutMs).finally(() => closeSync(this.reportRead));
    if (report === 'timeout') {
      this.end();
      throw new FreezedryError(ErrorCode.SNAPSHOT_HOOK_FAILED, `the restored copy (pid ${this.hostPid()}) did not finish its afterRestore hooks within ${timeoutMs} ms; it was ended`, {
        pid: this.hostPid(),
      });
    }
    if (report === undefined) return; // it ended without a word: the caller's liveness check says how
    if (!report.ready) {
      this.end();
      throw new FreezedryError(ErrorCode.SNAPSHOT_HOOK_FAILED, `the restored copy (pid ${this.hostPid()}) ended: ${report.error.message}`, {
        pid: this.hostPid(),
        copyErrorCode: report.error.code,
      });
    }
  }

  /** Ends the copy's whole namespace. */
  end(): void {
    try {
      if (this.found) process.kill(this.found.initPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** After a failed restore: nothing will be told to a copy. */
  abandon(): void {
    this.closeContext();
    try {
      closeSync(this.reportRead);
    } catch {
      // closed by start()
    }
  }

  private contextOpen = true;
  private closeContext(): void {
    if (!this.contextOpen) return;
    this.contextOpen = false;
    closeSync(this.contextWrite);
  }
}

/** The copy's one-line report, undefined at end-of-file without one, or 'timeout'. */
function readReport(fd: number, timeoutMs: number): Promise<CopyReport | undefined | 'timeout'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    const buffer = Buffer.alloc(16 * 1024);
    let text = '';
    const next = () =>
      read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
        if (!error && bytes > 0 && text.length < 1024 * 1024) {
          text += buffer.toString('utf8', 0, bytes);
          if (!text.includes('\n')) return next();
        }
        clearTimeout(timer);
        try {
          resolve(text.trim() ? (JSON.parse(text.split('\n')[0] as string) as CopyReport) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    next();
  });
}
