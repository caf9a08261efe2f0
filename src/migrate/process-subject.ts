// A process tree as the subject of a migration: CRIU dumps it over its RPC and leaves it stopped
// (SIGSTOP); SIGCONT resumes it, SIGKILL ends it.
import { checkpoint } from '../operations/checkpoint.js';
import { readDumpRunId } from '../images/inventory.js';
import { endLockedTree, releaseCriuLocks } from '../process/criu-locks.js';
import { processTree, signalEach } from '../process/proc.js';
import { resumeTreeIfThisProcessDies } from '../process/watchdog.js';
import type { Held, MigrationSubject } from './subject.js';

export function processSubject(pid: number): MigrationSubject {
  return {
    kind: 'process',
    pid,
    hello: {},
    async dumpArchive(file, criuOptions) {
      const dumped = await checkpoint(pid, { archive: file, leaveStopped: true, archiveOptions: { sync: false }, ...criuOptions });
      const held = heldTree(pid, dumped.pids, () => dumped.criuRunId);
      return { held, summary: `dumped ${dumped.pids.length} task(s) into ${dumped.archive?.bytes} bytes` };
    },
    async lazyDump({ imagesDir, port, abandon, criuOptions, onFrozen, onImages, onServing }) {
      const pids = processTree(pid);
      // The dump's run id names its lock: read at post-dump (the inventory is written by then),
      // since a dump that fails after takes its images along.
      let runId: string | undefined;
      const held = heldTree(pid, pids, () => runId, imagesDir);
      let imagesSent = false;
      // CRIU keeps the tree frozen and, after post-dump, serves its memory; the dump ends when
      // the destination's page session ends. leaveStopped: CRIU never ends the source itself
      // (it would on a session that merely closed); we do, once all memory arrived.
      const done = checkpoint(pid, {
        imagesDir,
        lazyPages: { address: '127.0.0.1', port, abandon },
        leaveStopped: true,
        ...criuOptions,
        onNotification: async (n) => {
          // CRIU asks for external files once it has seized (stopped) every task of the tree.
          if (n.name === 'query-ext-files') onFrozen?.();
          else if (n.name === 'post-dump') {
            runId = await readDumpRunId(imagesDir);
            await onImages();
            imagesSent = true;
          } else if (n.name === 'status-ready') {
            // CRIU goes on to serve the memory even when the post-dump handler failed: refusing
            // here ends its page server, and the dump fails with that handler's error as cause,
            // instead of sending the destination to pull pages for images it never got.
            if (!imagesSent) throw new Error('the images were not sent');
            onServing();
          }
        },
      }).then(() => {});
      return { held, done };
    },
  };
}

/**
 * The tree of `rootPid` (its processes: `pids`) that a CRIU dump, run `runId()`, left stopped.
 * Resuming it first undoes what else the dump left (its network lock, its sockets' repair
 * mode); ending it removes the lock the dump left in a namespace it shared, which outlives it.
 * `imagesDir`: where the dump writes its inventory, for a run id not known yet when guarded.
 */
export function heldTree(rootPid: number, pids: number[], runId: () => string | undefined, imagesDir?: string): Held {
  return {
    pids,
    resume: async () => {
      await releaseCriuLocks(rootPid, pids, runId());
      signalEach(pids, 'SIGCONT');
    },
    // Children before parents, so none is re-parented mid-way.
    end: () => endLockedTree(rootPid, runId(), () => signalEach([...pids].reverse(), 'SIGKILL')),
    guard: () => resumeTreeIfThisProcessDies(pids, { runId: runId(), imagesDir }),
  };
}


