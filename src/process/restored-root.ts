// The root of a restored tree, watched through a pidfd from the moment CRIU hands it over, so
// that a restore can tell a running tree from one that died, and say how it ended: an attached
// root is our child (we reap it); a detached one is init's, and Linux 6.15+ keeps its exit
// status for us.
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, FreezedryError } from '../errors.js';
import { native, type NativeExitStatus, type NativeExitWatch } from '../native/binding.js';
import { killPending, readStat, signalNamed } from './proc.js';

export interface RestoredRoot {
  pid: number;
  /** Settles when the root exits (reaped then, if it is our child). */
  exited: Promise<NativeExitStatus>;
  /** Stops watching (a detached tree, once its restore is over). */
  release(): void;
}

/** `keepAlive`: whether the wait keeps this process's event loop running (an attached tree). */
export function watchRestoredRoot(pid: number, keepAlive: boolean): RestoredRoot {
  let watch: NativeExitWatch | undefined;
  const exited = new Promise<NativeExitStatus>((resolve, reject) => {
    watch = new (native().ExitWatch)(pid, (err, status) => {
      watch?.close();
      if (err) reject(err);
      else resolve(status as NativeExitStatus);
    });
    if (!keepAlive) watch.unref();
  });
  exited.catch(() => {});
  return { pid, exited, release: () => watch?.close() };
}

export function describeExit(status: NativeExitStatus | undefined): string {
  if (!status || (!status.signal && status.code < 0)) return 'it is gone (its exit status could not be read)';
  if (status.signal) return `it was killed by signal ${status.signal}${signalName(status.signal)}`;
  return `it exited with status ${status.code}`;
}

/** Throws ERR_RESTORED_TREE_EXITED, saying how it ended, unless the root still runs. */
export async function assertRootRunning(root: RestoredRoot, when: string): Promise<void> {
  const stat = readStat(root.pid);
  // Dying counts as dead: a SIGKILL sent but not yet acted on (the tree has not been scheduled).
  if (stat !== undefined && stat.state !== 'Z' && stat.state !== 'X' && !stat.exiting && !killPending(root.pid)) return;
  // A zombie shows how it ended; once reaped, the watch has its status.
  const status =
    stat?.state === 'Z' && stat.waitStatus !== undefined
      ? fromWaitStatus(stat.waitStatus)
      : await Promise.race([root.exited.catch(() => undefined), sleep(3000).then(() => undefined)]);
  throw new FreezedryError(ErrorCode.RESTORED_TREE_EXITED, `The restored tree (pid ${root.pid}) did not survive ${when}: ${describeExit(status)}`, {
    pid: root.pid,
    exitCode: status && !status.signal && status.code >= 0 ? status.code : undefined,
    signal: status?.signal || undefined,
  });
}

function fromWaitStatus(status: number): NativeExitStatus {
  const signal = status & 0x7f;
  return signal ? { reaped: false, code: -1, signal } : { reaped: false, code: (status >> 8) & 0xff, signal: 0 };
}

function signalName(signal: number): string {
  const name = signalNamed(signal);
  return name ? ` (${name})` : '';
}
