// run(): start a workload as its own session in new pid (and optionally net) namespaces, so a
// checkpoint of it can later be restored beside the running original, or on another host.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, FreezedryError, ValidationError } from './errors.js';
import { assertRoot } from './process/privileges.js';
import { childrenOf, commandArgs, readStat } from './process/proc.js';

export interface RunOptions {
  /** Also give it a new network namespace with loopback up (needed to move it between hosts). */
  net?: boolean;
  /** Where its stdout and stderr go (opened for append); default: a new file under the temp dir. */
  logFile?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the command to start (default 5 s). */
  startTimeoutMs?: number;
}

export interface RunResult {
  /** Host pid of the workload: the init of its new pid namespace, and a session leader. */
  pid: number;
  logFile: string;
  namespaces: { pid: true; net: boolean };
}

export async function run(command: string[], options: RunOptions = {}): Promise<RunResult> {
  if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'run needs a command: a non-empty array of non-empty strings');
  }
  assertRoot('run');
  const logFile = path.resolve(options.logFile ?? defaultLogFile(command[0] as string));
  mkdirSync(path.dirname(logFile), { recursive: true });
  // O_APPEND|O_WRONLY: CRIU does not insist on the size of such a file at restore (it grows).
  const logFd = openSync(logFile, 'a');

  // unshare forks the new namespace's init; setsid makes it a session leader, which CRIU needs
  // (without --shell-job). With --net, a shell brings loopback up before exec'ing the command.
  const inner = options.net
    ? ['sh', '-c', 'ip link set lo up && exec setsid "$0" "$@"', ...command]
    : ['setsid', ...command];
  const launcher = spawn('unshare', ['--pid', '--fork', ...(options.net ? ['--net'] : []), ...inner], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  let launchError: Error | undefined;
  launcher.once('error', (err) => {
    launchError = err;
  });
  launcher.unref();

  // The namespace's init keeps its pid through every exec; it is the workload once it has left
  // the launcher stages (unshare's fork, the sh wrapper, setsid). The command itself may exec
  // again (a shim, an interpreter), so its final argv is not compared with what was asked.
  const stages = [['setsid', ...command], [...inner]].map((argv) => argv.join('\0'));
  const deadline = Date.now() + (options.startTimeoutMs ?? 5000);
  const wanted = command.join(' ');
  while (Date.now() < deadline && !launchError) {
    const launcherPid = launcher.pid;
    const child = launcherPid ? childrenOf(launcherPid)[0] : undefined;
    if (child !== undefined) {
      const argv = commandArgs(child);
      if (argv.length > 0 && argv[0] !== 'unshare' && !stages.includes(argv.join('\0'))) {
        return { pid: child, logFile, namespaces: { pid: true, net: options.net === true } };
      }
    } else if (launcherPid && !readStat(launcherPid)) {
      break; // the launcher exited: the command could not start
    }
    await sleep(2);
  }
  const said = readTail(logFile);
  throw new FreezedryError(
    ErrorCode.WORKLOAD_START_FAILED,
    `could not start ${wanted}${launchError ? `: ${launchError.message}` : ''}${said ? `: ${said}` : ''} [log: ${logFile}]`,
    { logFile, cause: launchError },
  );
}

function defaultLogFile(program: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return path.join(os.tmpdir(), 'freezedry', `run-${path.basename(program)}-${stamp}-${process.pid}.log`);
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join('; ');
  } catch {
    return '';
  }
}
