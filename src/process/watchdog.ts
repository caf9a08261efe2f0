// Work that must happen even if this process is SIGKILLed (which runs no handler): a small
// shell in a session of its own waits for it to be gone, then runs `script`.
import { startChild } from './child.js';
import { signalEach } from './proc.js';

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

/**
 * Resumes a stopped tree if this process would otherwise exit while holding it: an await that
 * can never settle empties the event loop (beforeExit), and a SIGKILL runs no handler at all, so
 * a watchdog outside this process sends SIGCONT once it is gone (for a minute, since CRIU may
 * hold the tree a little longer). Returns the function that disarms both.
 */
export function resumeTreeIfThisProcessDies(pids: number[]): () => void {
  const guard = () => signalEach(pids, 'SIGCONT');
  process.once('beforeExit', guard);
  const disarm = afterThisProcessDies('i=0; while [ $i -lt 120 ]; do kill -CONT "$@" 2>/dev/null; sleep 0.5; i=$((i+1)); done', pids.map(String));
  return () => {
    process.off('beforeExit', guard);
    disarm();
  };
}
