// Runs one CRIU request on its own `criu swrk`, after the version gate, and turns a failed
// answer into an error that quotes CRIU's own log lines.
import { statfs } from 'node:fs/promises';
import { ErrorCode, FreezedryError, isFreezedryError, type ErrorCodeValue } from '../errors.js';
import { describeFailure, errorLines, readLog, tailLines } from './log.js';
import { closeFd, openDirFd } from '../images/images-dir.js';
import type { RpcOptions, RpcRequest } from './rpc-schema.js';
import { CriuSession, type RequestOptions, type RequestOutcome } from './session.js';
import { assertSupported, queryVersion, type CriuVersion } from './version.js';

export interface OperationResult {
  outcome: RequestOutcome;
  version: CriuVersion;
  criuPid: number;
}

export interface OperationOptions extends RequestOptions {
  inheritFds?: number[];
  /** A command CRIU runs under (see CriuSession). */
  launcher?: string[];
  /** Variables added to CRIU's environment. */
  environment?: Record<string, string>;
  /** Checks to make once CRIU's version is known, before the request (they may throw). */
  checkVersion?: (version: CriuVersion) => void;
}

/**
 * A `criu swrk` started ahead of its request: its start (exec, CRIU's own set-up and the version
 * question, tens of milliseconds) overlaps whatever the caller prepares meanwhile.
 */
export interface StartedCriu {
  session: CriuSession;
  version: Promise<CriuVersion>;
  /** The keys under which its restore finds the fds it inherited (CRIU's inherit_fd). */
  inherit?: { key: string; fd: number }[];
}

export function startCriu(criuPath: string, options: Pick<OperationOptions, 'inheritFds' | 'launcher' | 'environment'> = {}): StartedCriu {
  const session = new CriuSession(criuPath, options.inheritFds, options.launcher, options.environment);
  const version = queryVersion(session);
  version.catch(() => {}); // awaited by the request; a caller that gives up closes the session
  return { session, version };
}

export async function runCriuRequest(
  criuPath: string,
  request: RpcRequest,
  options: OperationOptions = {},
  started: StartedCriu = startCriu(criuPath, options),
): Promise<OperationResult> {
  const { session } = started;
  try {
    const version = await started.version;
    assertSupported(version, criuPath);
    options.checkVersion?.(version);
    const outcome = await session.request(request, options);
    return { outcome, version, criuPid: session.pid };
  } finally {
    await session.close();
  }
}

/**
 * Runs a dump or restore whose images (and work) directory CRIU opens through our fds
 * (/proc/<our pid>/fd/N, criu-internals §1.5); the fds stay open until CRIU has answered.
 */
export async function runImageRequest(
  criuPath: string,
  dirs: { imagesDir: string; workDir: string },
  request: (fds: Pick<RpcOptions, 'imagesDirFd' | 'workDirFd'>) => RpcRequest,
  options: OperationOptions = {},
  started?: StartedCriu,
): Promise<OperationResult> {
  let imagesDirFd: number | undefined;
  let workDirFd: number | undefined;
  try {
    try {
      imagesDirFd = openDirFd(dirs.imagesDir);
      workDirFd = dirs.workDir === dirs.imagesDir ? undefined : openDirFd(dirs.workDir);
    } catch (error) {
      await started?.session.close();
      throw error;
    }
    return await runCriuRequest(criuPath, request({ imagesDirFd, workDirFd }), options, started);
  } finally {
    closeFd(imagesDirFd);
    closeFd(workDirFd);
  }
}

// Under 1 MiB free, counting the blocks only root may use (CRIU writes as root).
async function nearlyFull(dir: string): Promise<boolean> {
  const space = await statfs(dir).catch(() => undefined);
  return space !== undefined && space.bfree * space.bsize < 1 << 20;
}

// cr_errno values CRIU sets for an option the kernel cannot serve (criu-internals §1.3).
const EBADRQC = 56;

/** The error for a request CRIU answered with success=false. */
export async function failureError(
  what: 'dump' | 'restore',
  outcome: RequestOutcome,
  logFile: string,
  subject: string,
  imagesDir?: string,
): Promise<FreezedryError> {
  const log = await readLog(logFile);
  const lines = errorLines(log);
  const details = { logFile, criuErrors: lines, crErrno: outcome.response.crErrno };
  if (outcome.rejected) {
    const { notification, reason } = outcome.rejected;
    if (isFreezedryError(reason) && reason.code === ErrorCode.ABORTED) {
      return new FreezedryError(ErrorCode.ABORTED, `${subject}: aborted at CRIU's '${notification}' notification`, { ...details, cause: reason });
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new FreezedryError(
      ErrorCode.NOTIFICATION_REJECTED,
      `${subject}: the '${notification}' notification handler rejected: ${message}`,
      { ...details, cause: reason, notification },
    );
  }
  if (outcome.response.crErrno === EBADRQC) {
    const cause = outcome.response.crErrmsg ?? lines[0] ?? 'an option this kernel cannot serve';
    return new FreezedryError(ErrorCode.KERNEL_FEATURE_MISSING, `${subject}: ${cause.replace(/^Error \([^)]*\):\s*/, '').trim()} [log: ${logFile}]`, details);
  }
  const pidClash = lines.find((line) => /Can't fork for \d+: File exists/.test(line));
  if (pidClash) {
    return new FreezedryError(ErrorCode.PID_IN_USE, `${subject}: a pid the tree needs is taken: ${pidClash} [log: ${logFile}]`, details);
  }
  // A dump's images filling their disk: the same code as a full disk under an archive or the page
  // sink. Not for a restore, where ENOSPC mostly means a kernel limit (inotify watches, namespaces).
  const full = what === 'dump' && lines.some((line) => line.includes('No space left on device'));
  if (full) {
    return new FreezedryError(ErrorCode.NO_SPACE, `${subject}: no space left on a device CRIU writes to: ${describeFailure(lines, logFile)}`, details);
  }
  // A disk full before CRIU could log anything (its log is on it too) leaves no line to find.
  if (what === 'dump' && imagesDir !== undefined && (await nearlyFull(imagesDir))) {
    return new FreezedryError(ErrorCode.NO_SPACE, `${subject}: no space left on the file system of ${imagesDir} (CRIU could not log why it failed) [log: ${logFile}]`, {
      ...details,
      path: imagesDir,
    });
  }
  const code: ErrorCodeValue = what === 'dump' ? ErrorCode.CRIU_DUMP_FAILED : ErrorCode.CRIU_RESTORE_FAILED;
  return new FreezedryError(code, `${subject} failed: ${describeFailure(lines, logFile, tailLines(log, 3))}`, details);
}
