// Running a system tool (runc, ip, mount, tar) and taking its output: Node's execFile, which
// loads in no time (a CLI start-up pays for every module it loads).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs `file` with `args` (no shell). A non-zero exit rejects with an Error quoting the tool's
 * stderr, unless `reject: false`, which resolves with its exit code instead.
 */
export function command(file: string, args: string[], options: { reject?: boolean } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (error && options.reject !== false) {
        const said = stderr.trim() || error.message;
        reject(Object.assign(new Error(`${file} ${args.join(' ')} failed (${exitCode === -1 ? String(error.code ?? error.message) : `exit ${exitCode}`}): ${said}`), { exitCode, stderr }));
        return;
      }
      resolve({ stdout, stderr, exitCode });
    });
  });
}

/** Whether `name` is on PATH, or in the sbin and bin directories a root shell would search. */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin', '/bin'])
    .some((dir) => dir !== '' && existsSync(path.join(dir, name)));
}
