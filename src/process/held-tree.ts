// Resuming a tree that a CRIU dump left stopped, when whoever held it cannot do it properly any
// more: a watchdog once the agent has died (resume-held-tree.ts), or the agent itself as its
// event loop empties. It waits for CRIU to let go of the tree (CRIU fails soon after its caller
// goes, at its next word to it), undoes what the dump left (sockets in repair mode, the network
// lock: criu-locks.ts), then sends SIGCONT. A SIGCONT alone would leave the tree's connections
// locked, or closed without a word once it reads a socket still in repair mode. A lazy dump's
// page server whose client never came (its only way in, the relay, died with the agent) would
// hold the tree for ever: that CRIU is killed, the tree stopped first (as checkpoint.ts does).
import { setTimeout as sleep } from 'node:timers/promises';
import { readDumpRunId } from '../images/inventory.js';
import { releaseCriuLocks } from './criu-locks.js';
import { readStat, signalEach, tracerOf } from './proc.js';

const WAIT_FOR_CRIU_MS = 10_000;
const WAIT_FOR_OTHER_TRACERS_MS = 50_000;

/** The dump that left the tree stopped: its run id, or where its inventory is (once written). */
export interface HeldDump {
  runId?: string;
  imagesDir?: string;
}

/**
 * Resumes the tree of `pids` (its root first) once CRIU has let go of it, its locks undone;
 * `signal: false` undoes them only (a container: runc thaws it). A tracer other than CRIU is
 * given most of a minute more, and then it is done all the same.
 */
export async function resumeHeldTree(pids: number[], dump: HeldDump, options: { signal?: boolean } = {}): Promise<void> {
  const stuck = !(await untraced(pids, WAIT_FOR_CRIU_MS));
  if (stuck) {
    const criu = new Set(pids.map(tracerOf).filter((tracer) => tracer !== undefined && readStat(tracer)?.comm === 'criu'));
    signalEach(pids, 'SIGSTOP');
    signalEach([...criu] as number[], 'SIGKILL');
    await untraced(pids, WAIT_FOR_OTHER_TRACERS_MS);
  }
  const runId = dump.runId ?? (dump.imagesDir ? await readDumpRunId(dump.imagesDir) : undefined);
  await releaseCriuLocks(pids[0] as number, pids, runId);
  // A container's SIGCONT, after the stop above, takes effect when runc thaws it.
  if (options.signal !== false || stuck) signalEach(pids, 'SIGCONT');
}

async function untraced(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => tracerOf(pid) !== undefined)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
