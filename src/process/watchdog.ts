// Work that must happen even if this process is SIGKILLed (which runs no handler): a small
// shell in a session of its own waits for it to be gone, then runs `script`.
import path from 'node:path';
import { packageRoot } from '../native/binding.js';
import { startChild } from './child.js';
import { resumeHeldTree, type HeldDump } from './held-tree.js';

/**
 * Starts the watchdog; `script` sees `args` as "$1", "$2"… Returns the function that disarms it
 * (call it once the work is no longer needed). Without sh, the guard lasts only while we live.
 */
export function afterThisProcessDies(script: string, args: string[]): () => void {
  const wait = 'while kill -0 "$0" 2>/dev/null; do sleep 0.05; done; ';
  try {
    // Not child_process.spawn: its fork() holds this thread while it copies our page table (1-3
    // ms for a small node, about 30 ms per GiB it holds), and a lazy restore's tree waits on it.
    const watchdog = startChild(['sh', '-c', wait + script, String(process.pid), ...args], { detached: true });
    return () => watchdog.kill();
  } catch {
    return () => {};
  }
}

/** The script a watchdog runs with node to resume a held tree (resume-held-tree.ts). */
export function lockReleaser(): string[] {
  return [process.execPath, path.join(packageRoot, 'lib', 'process', 'resume-held-tree.js')];
}

/**
 * Resumes a stopped tree (root `pids[0]`), left so by CRIU's `dump`, if this process would
 * otherwise exit while holding it: an await that can never settle empties the event loop
 * (beforeExit), and a SIGKILL runs no handler at all, so a watchdog outside this process
 * resumes it once it is gone (held-tree.ts), or, should node fail there, sends SIGCONT alone
 * for a minute. Returns the function that disarms both.
 */
export function resumeTreeIfThisProcessDies(pids: number[], dump: HeldDump = {}): () => void {
  const guard = () => void resumeHeldTree(pids, dump);
  process.once('beforeExit', guard);
  const lock = dump.runId ? ['--run-id', dump.runId] : dump.imagesDir ? ['--images', dump.imagesDir] : ['--run-id', ''];
  const disarm = afterThisProcessDies(
    'node="$1"; script="$2"; how="$3"; lock="$4"; shift 4; "$node" "$script" "$how" "$lock" "$@" 2>/dev/null || ' +
      '{ i=0; while [ $i -lt 120 ]; do kill -CONT "$@" 2>/dev/null; sleep 0.5; i=$((i+1)); done; }',
    [...lockReleaser(), ...lock, ...pids.map(String)],
  );
  return () => {
    process.off('beforeExit', guard);
    disarm();
  };
}
