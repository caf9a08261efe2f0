// Tracking which pages a running process writes, where the kernel has no soft-dirty bits: the
// building block of pre-copy migration on such kernels (native/core/dirty_tracker.h says how).
import { spawn } from 'node:child_process';
import { ErrorCode, FreezedryError } from '../errors.js';
import { native, type NativeDirtyTracker } from '../native/binding.js';
import { trackerAttachError } from '../native/native-errors.js';
import { validatePid } from '../criu/options.js';
import { assertRoot } from '../process/privileges.js';
import { isAlive } from '../process/proc.js';
import { fromFlat, type Range } from './page-ranges.js';

/** [start, end) of a page range. */
export type WrittenRange = Range;

export class DirtyTracker {
  private readonly tracker: NativeDirtyTracker;

  private constructor(tracker: NativeDirtyTracker) {
    this.tracker = tracker;
  }

  /** Starts tracking the private anonymous memory of `pid`: from now on, every page is clean. */
  static attach(pid: number): DirtyTracker {
    validatePid(pid);
    assertRoot('dirty tracking');
    if (!isAlive(pid)) throw new FreezedryError(ErrorCode.NO_SUCH_PROCESS, `No process with pid ${pid}`, { pid });
    try {
      return new DirtyTracker(new (native().DirtyTracker)(pid));
    } catch (cause) {
      throw trackerAttachError(pid, cause);
    }
  }

  get trackedBytes(): number {
    return this.tracker.trackedBytes;
  }

  /** The ranges written since attach or the last scan; they count as clean again afterwards. */
  scan(): WrittenRange[] {
    return fromFlat(this.tracker.scan());
  }

  /** The tracked pages that hold data now (present or swapped out). */
  present(): Range[] {
    return fromFlat(this.tracker.present());
  }

  /** The areas still under tracking (an area unmapped and mapped again drops out at a scan). */
  areas(): Range[] {
    return fromFlat(this.tracker.areas());
  }

  close(): void {
    this.tracker.close();
  }
}

/**
 * Whether the tracker works on this host: it attaches to a short-lived child (a \`sleep\`) and
 * lets go. The reason when it does not (an old kernel, userfaultfd forbidden).
 */
export async function probeDirtyTracking(): Promise<{ works: boolean; reason?: string }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    DirtyTracker.attach(child.pid as number).close();
    return { works: true };
  } catch (error) {
    return { works: false, reason: (error as Error).message };
  } finally {
    child.kill('SIGKILL');
  }
}

