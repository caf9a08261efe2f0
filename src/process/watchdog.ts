// Work that must happen even if this process is SIGKILLed (which runs no handler): a small
// detached shell outside it waits for it to be gone, then runs `script`.
import { spawn } from 'node:child_process';

/**
 * Starts the watchdog; `script` sees `args` as "$1", "$2"… Returns the function that disarms it
 * (call it once the work is no longer needed). Without sh, the guard lasts only while we live.
 */
export function afterThisProcessDies(script: string, args: string[]): () => void {
  const wait = 'while kill -0 "$0" 2>/dev/null; do sleep 0.05; done; ';
  const watchdog = spawn('sh', ['-c', wait + script, String(process.pid), ...args], { detached: true, stdio: 'ignore' });
  watchdog.on('error', () => {});
  watchdog.unref();
  return () => watchdog.kill('SIGKILL');
}
