// checkpoint(): dump a running process tree into an image directory.
import { kill } from 'node:process';
import path from 'node:path';
import { ErrorCode, FreezedryError, abortError } from './errors.js';
import { locateCriu } from './criu/locate.js';
import { failureError, runImageRequest } from './criu/operation.js';
import { commonRpcOptions, validateCriuOptions, validateDir, validatePid, type CriuOptions } from './criu/options.js';
import { RequestType } from './criu/rpc-schema.js';
import { prepareDumpDir, removePartialImages } from './images/images-dir.js';
import { readDumpStats, type DumpStats } from './images/stats.js';
import { commandLine, isStopped, processTree, readStat } from './process/proc.js';
import { assertRoot } from './process/privileges.js';

export interface CheckpointOptions extends CriuOptions {
  /** Where the images go: a new or empty directory (created if missing). */
  imagesDir: string;
  /** Keep the tree running after the dump (criu --leave-running); default: it is killed. */
  leaveRunning?: boolean;
  /** Track memory changes for a later incremental dump (needs soft-dirty in the kernel). */
  trackMem?: boolean;
  /** Images of an earlier dump to diff against, relative to imagesDir (criu --prev-images-dir). */
  parentImages?: string;
}

export interface CheckpointResult {
  pid: number;
  imagesDir: string;
  logFile: string;
  /** Wall time of the whole call. */
  durationMs: number;
  /** Whether the tree still runs (leaveRunning). */
  leftRunning: boolean;
  /** The pids that were in the tree when the dump began. */
  pids: number[];
  stats?: DumpStats;
  criu: { path: string; version: string };
}

export async function checkpoint(pid: number, options: CheckpointOptions): Promise<CheckpointResult> {
  const started = performance.now();
  validatePid(pid);
  validateDir('imagesDir', options?.imagesDir);
  validateCriuOptions(options);
  if (options.signal?.aborted) throw abortError(options.signal);
  assertRoot('checkpoint');
  const criuPath = locateCriu(options.criu);

  const root = readStat(pid);
  if (!root || root.state === 'Z' || root.state === 'X') {
    throw new FreezedryError(
      ErrorCode.NO_SUCH_PROCESS,
      root ? `Process ${pid} (${root.comm}) has already exited (it is a zombie)` : `No process with pid ${pid}`,
      { pid },
    );
  }
  const imagesDir = path.resolve(options.imagesDir);
  const workDir = path.resolve(options.workDir ?? imagesDir);
  await prepareDumpDir(imagesDir);
  const logFile = path.join(workDir, 'dump.log');

  // Which tasks were already stopped, so that recovery after a failure resumes only ours.
  const pids = processTree(pid);
  const stoppedBefore = new Set(pids.filter((p) => isStopped(readStat(p))));

  try {
    const { outcome, version } = await runImageRequest(
      criuPath,
      { imagesDir, workDir },
      (fds) => ({
        type: RequestType.DUMP,
        opts: {
          ...commonRpcOptions(options),
          ...fds,
          pid,
          leaveRunning: options.leaveRunning,
          trackMem: options.trackMem,
          parentImages: options.parentImages,
          logFile: 'dump.log',
        },
      }),
      { onNotification: options.onNotification, signal: options.signal, timeoutMs: options.timeoutMs },
    );
    if (!outcome.response.success) {
      throw await failureError('dump', outcome, logFile, `criu dump of pid ${pid} (${commandLine(pid) || root.comm})`);
    }
    return {
      pid,
      imagesDir,
      logFile,
      durationMs: performance.now() - started,
      leftRunning: options.leaveRunning === true,
      pids,
      stats: await readDumpStats(imagesDir),
      criu: { path: criuPath, version: version.text },
    };
  } catch (error) {
    resumeStopped(pids, stoppedBefore);
    await removePartialImages(imagesDir, logFile);
    throw error;
  }
}

/**
 * A dump that failed must never leave the tree frozen. CRIU resumes it on its own failures;
 * this covers CRIU itself dying mid-dump (its ptrace stops end with it, a group stop may not).
 */
function resumeStopped(pids: number[], stoppedBefore: Set<number>): void {
  for (const p of pids) {
    if (!stoppedBefore.has(p) && isStopped(readStat(p))) {
      try {
        kill(p, 'SIGCONT');
      } catch {
        // it exited meanwhile
      }
    }
  }
}
