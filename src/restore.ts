// restore(): bring a dumped tree back to life from an image directory.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Archive } from './archive/archive-reader.js';
import { assertCompatible } from './archive/compatibility.js';
import { ErrorCode, FreezedryError, ValidationError, abortError } from './errors.js';
import type { CriuVersion } from './criu/version.js';
import { locateCriu } from './criu/locate.js';
import { failureError, runImageRequest } from './criu/operation.js';
import { commonRpcOptions, validateCriuOptions, validateDir, type CriuOptions } from './criu/options.js';
import { RequestType } from './criu/rpc-schema.js';
import { assertImagesPresent, removePartialImages } from './images/images-dir.js';
import { hasOwnPidNamespace, readProcessTree } from './images/process-tree.js';
import { readRestoreStats, type RestoreStats } from './images/stats.js';
import { native, type NativeExitStatus } from './native/binding.js';
import { assertRoot } from './process/privileges.js';
import { findStored } from './store.js';
import { commandLine, readStat, waitUntilGone } from './process/proc.js';

export interface RestoreOptions extends CriuOptions {
  /** Restore from this image directory… */
  imagesDir?: string;
  /** …or from this archive (unpacked into a scratch directory, checked against its checksums). */
  archive?: string;
  /** …or from the local store's checkpoint of this name. */
  name?: string;
  storeRoot?: string;
  /** Restore even when the archive's source host looks incompatible (CPU features, CRIU version). */
  force?: boolean;
  /** Progress of unpacking an archive. */
  onProgress?: (progress: { bytes: number; totalBytes: number }) => void;
  /**
   * true (default): the restored tree is on its own, re-parented to init like a daemon.
   * false: its root becomes a child of this process; `exited` reports its end.
   */
  detach?: boolean;
  /** How long to wait for the dumped pids to be reaped before restoring in place (default 10 s). */
  reapTimeoutMs?: number;
}

export interface RestoreResult {
  /** Host pid of the restored root task. */
  pid: number;
  imagesDir?: string;
  archive?: string;
  logFile: string;
  durationMs: number;
  stats?: RestoreStats;
  criu: { path: string; version: string };
  /** Only when detach is false: settles when the restored root exits. */
  exited?: Promise<NativeExitStatus>;
}

export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const sources = [options?.imagesDir, options?.archive, options?.name].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'restore needs exactly one of imagesDir, archive and name');
  }
  if (options.name !== undefined) options = { ...options, archive: await findStored(options.name, options.storeRoot), name: undefined };
  if (options.archive === undefined) return restoreFromDirectory(options);
  validateDir('archive', options.archive);
  validateCriuOptions(options);
  assertRoot('restore');
  const started = performance.now();
  const archive = await Archive.open(options.archive);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'freezedry-restore-'));
  const logFile = path.join(options.workDir ? path.resolve(options.workDir) : scratch, 'restore.log');
  try {
    locateCriu(options.criu); // fail on a missing CRIU before unpacking
    await archive.extract(scratch, options.onProgress && ((bytes, totalBytes) => options.onProgress?.({ bytes, totalBytes })));
    const result = await restoreFromDirectory(
      { ...options, archive: undefined, imagesDir: scratch },
      options.force ? undefined : (version) => assertCompatible(archive.manifest.source, version, archive.file),
    );
    await rm(scratch, { recursive: true, force: true });
    return { ...result, imagesDir: undefined, archive: archive.file, durationMs: performance.now() - started };
  } catch (error) {
    // Keep only CRIU's log, which the error points to.
    await removePartialImages(scratch, logFile);
    if ((await readdir(scratch)).length === 0) await rm(scratch, { recursive: true, force: true });
    throw error;
  } finally {
    archive.close();
  }
}

async function restoreFromDirectory(options: RestoreOptions, checkVersion?: (version: CriuVersion) => void): Promise<RestoreResult> {
  const started = performance.now();
  validateDir('imagesDir', options?.imagesDir);
  validateCriuOptions(options);
  if (options.detach !== undefined && typeof options.detach !== 'boolean') {
    throw new FreezedryError(ErrorCode.INVALID_ARG_TYPE, 'detach must be a boolean');
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  assertRoot('restore');
  const criuPath = locateCriu(options.criu);
  const imagesDir = path.resolve(options.imagesDir as string);
  await assertImagesPresent(imagesDir);
  const workDir = path.resolve(options.workDir ?? imagesDir);
  const logFile = path.join(workDir, 'restore.log');
  await waitForDumpedPids(imagesDir, options.reapTimeoutMs ?? 10_000);

  const detach = options.detach ?? true;
  const { outcome, version } = await runImageRequest(
    criuPath,
    { imagesDir, workDir },
    (fds) => ({
      type: RequestType.RESTORE,
      opts: { ...commonRpcOptions(options), ...fds, restoreAsSibling: !detach, logFile: 'restore.log' },
    }),
    { onNotification: options.onNotification, signal: options.signal, timeoutMs: options.timeoutMs, checkVersion },
  );
  if (!outcome.response.success || !outcome.response.restore) {
    throw await failureError('restore', outcome, logFile, `criu restore from ${imagesDir}`);
  }
  const pid = outcome.response.restore.pid;
  return {
    pid,
    imagesDir,
    logFile,
    durationMs: performance.now() - started,
    stats: await readRestoreStats(workDir),
    criu: { path: criuPath, version: version.text },
    exited: detach ? undefined : watchExit(pid),
  };
}

/**
 * Restoring in place needs the dumped pids free. Right after a dump they can still be zombies
 * waiting for their parent ("Can't fork for N: File exists"), so wait for them; a live process
 * holding one is a clash. A tree with its own pid namespace never clashes.
 */
async function waitForDumpedPids(imagesDir: string, timeoutMs: number): Promise<void> {
  const tree = await readProcessTree(imagesDir).catch((cause) => {
    throw new FreezedryError(ErrorCode.IMAGES_MISSING, `${imagesDir}/pstree.img is unreadable: ${(cause as Error).message}`, { cause });
  });
  if (hasOwnPidNamespace(tree)) return;
  const pids = tree.flatMap((task) => [task.pid, ...task.threads.filter((t) => t !== task.pid)]);
  const live = pids.filter((pid) => {
    const stat = readStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  });
  if (live.length > 0) {
    const who = live.map((pid) => `${pid} (${commandLine(pid) || readStat(pid)?.comm})`).join(', ');
    throw new FreezedryError(
      ErrorCode.PID_IN_USE,
      `Cannot restore in place: pid ${who} ${live.length > 1 ? 'are' : 'is'} in use by a running process. ` +
        "Stop it first, or checkpoint a tree started with 'freezedry run' (its own pid namespace) to restore beside it.",
      { pids: live },
    );
  }
  const left = await waitUntilGone(pids, timeoutMs);
  if (left.length > 0) {
    throw new FreezedryError(
      ErrorCode.PID_IN_USE,
      `Cannot restore in place: pid ${left.join(', ')} still exists as a zombie after ${timeoutMs} ms (its parent has not reaped it)`,
      { pids: left },
    );
  }
}

function watchExit(pid: number): Promise<NativeExitStatus> {
  return new Promise((resolve, reject) => {
    const watch = new (native().ExitWatch)(pid, (err, status) => {
      watch.close();
      if (err) reject(err);
      else resolve(status as NativeExitStatus);
    });
  });
}
