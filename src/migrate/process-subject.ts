// A process tree as the subject of a migration: CRIU dumps it over its RPC and leaves it stopped
// (SIGSTOP); SIGCONT resumes it, SIGKILL ends it.
import { checkpoint } from '../operations/checkpoint.js';
import { releaseCriuLocks } from '../process/criu-locks.js';
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
      const held = heldTree(dumped.pids, () => releaseCriuLocks(pid, dumped.pids));
      return { held, summary: `dumped ${dumped.pids.length} task(s) into ${dumped.archive?.bytes} bytes` };
    },
    async lazyDump({ imagesDir, port, abandon, criuOptions, onFrozen, onImages, onServing }) {
      const pids = processTree(pid);
      const held = heldTree(pids, () => releaseCriuLocks(pid, pids));
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

/** A tree CRIU left stopped; `beforeResume` undoes what else its dump left (its network lock, its sockets' repair mode). */
export function heldTree(pids: number[], beforeResume?: () => Promise<void>): Held {
  return {
    pids,
    resume: async () => {
      await beforeResume?.();
      signalEach(pids, 'SIGCONT');
    },
    // Children before parents, so none is re-parented mid-way.
    end: async () => signalEach([...pids].reverse(), 'SIGKILL'),
    guard: () => resumeTreeIfThisProcessDies(pids),
  };
}


