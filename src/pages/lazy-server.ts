// The lazy-pages side of a restore: the native uffd server listening in CRIU's work directory,
// as a promise-shaped object. If the fill fails the restored tree is killed first: a process
// whose missing pages can no longer arrive must not run on with zeros in their place.
import path from 'node:path';
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';
import { native, type NativePageSourceSpec, type NativeUffdCounters, type NativeUffdServer } from '../native/binding.js';
import { endTreeQuietly, SILENCE_NETWORK_SCRIPT } from '../process/quiet-end.js';
import { afterThisProcessDies } from '../process/watchdog.js';
import type { LazyPlan } from './lazy-plan.js';

export type LazyFillStats = NativeUffdCounters;
export type LazySource = NativePageSourceSpec;

const FAULT_AROUND = 64 * 1024;
const FILL_CHUNK = 4 * 1024 * 1024;
/**
 * A migration's destination (some memory behind the source's page server): the background fill
 * waits this long once the tree is restored, for runc to finish and the agent to plug the veths
 * and inject the frames held while it was frozen, on a small machine's few cores (A/B of a 1 GiB
 * container migration on 2 cores: restoreMs 113-129 -> 96-109 ms). Faults are served meanwhile.
 */
const MIGRATION_FILL_HOLD_OFF_MS = 25;

export class LazyPageServer {
  readonly restored: Promise<void>;
  readonly complete: Promise<LazyFillStats>;
  private readonly server: NativeUffdServer;
  private rootPid: number | undefined;
  private disarmWatchdog: (() => void) | undefined;
  private closed = false;

  private constructor(socketPath: string, plan: LazyPlan, source: LazySource) {
    let restored!: () => void;
    let complete!: (stats: LazyFillStats) => void;
    let failed!: (error: unknown) => void;
    this.restored = new Promise<void>((resolve) => (restored = resolve));
    this.complete = new Promise<LazyFillStats>((resolve, reject) => {
      complete = resolve;
      failed = reject;
    });
    this.complete.catch(() => {}); // callers that never await it must not crash the process
    const migrating = 'remote' in source && source.remote !== undefined;
    const tuning = { faultAround: FAULT_AROUND, fillChunk: FILL_CHUNK, fillHoldOffMs: migrating ? MIGRATION_FILL_HOLD_OFF_MS : 0 };
    this.server = new (native().UffdServer)(socketPath, plan.table, source, tuning, (kind, error) => {
      if (kind === 'restored') {
        restored();
      } else if (kind === 'complete') {
        complete(this.server.counters());
        this.close();
      } else {
        this.killTree();
        failed(
          new FreezedryError(ErrorCode.LAZY_FILL_FAILED, `Lazy restore could not place the remaining pages: ${(error as { detail?: string })?.detail ?? error?.message}`, {
            cause: error,
          }),
        );
        this.close();
      }
    });
  }

  /** Starts listening on lazy-pages.socket in CRIU's work directory, before the restore begins. */
  static start(workDir: string, plan: LazyPlan, source: LazySource): LazyPageServer {
    const socketPath = path.join(workDir, 'lazy-pages.socket');
    if (Buffer.byteLength(socketPath) > 107) {
      throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `work directory path too long for a unix socket: ${socketPath}`);
    }
    return new LazyPageServer(socketPath, plan, source);
  }

  /**
   * The restored root, so a failed fill can end the tree. If this process dies before the fill
   * completes (SIGKILL runs no handler), the uffds close and the missing pages would read as
   * zeros: a watchdog outside this process then ends the tree's session instead.
   */
  attach(rootPid: number): void {
    // Called again with the same root once the restore returns when it was called as soon as
    // CRIU named the root (the watchdog's spawn then overlaps CRIU's work instead of following it).
    if (this.rootPid === rootPid && this.disarmWatchdog) return;
    this.disarmWatchdog?.();
    this.rootPid = rootPid;
    // A small tree can be complete before CRIU even answered: then there is nothing to guard,
    // and a watchdog armed now would never be disarmed (it would end the tree when we exit).
    if (this.closed) return;
    this.disarmWatchdog = afterThisProcessDies(`${SILENCE_NETWORK_SCRIPT}pkill -KILL -s "$1"; kill -KILL "$1"`, [String(rootPid)]);
  }

  stats(): LazyFillStats {
    return this.server.counters();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    this.disarmWatchdog?.();
  }

  private killTree(): void {
    if (this.rootPid !== undefined) endTreeQuietly(this.rootPid);
  }
}
