// restore(): bring a dumped tree back to life from an image directory, an archive or the store;
// optionally lazily, the tree running at once while its memory arrives behind it.
import { closeSync, rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Archive } from '../archive/archive-reader.js';
import { assertCompatible } from '../archive/compatibility.js';
import { lazyPagesAvailable } from '../criu/features.js';
import { ErrorCode, FreezedryError, ValidationError, abortError } from '../errors.js';
import { locateCriu } from '../criu/locate.js';
import { failureError, runImageRequest, startCriu, type StartedCriu } from '../criu/operation.js';
import { commonRpcOptions, validateCriuOptions, validateDir, type CriuOptions } from '../criu/options.js';
import { RequestType } from '../criu/rpc-schema.js';
import type { NotificationHandler } from '../criu/session.js';
import type { CriuVersion } from '../criu/version.js';
import { assertImagesPresent, removePartialImages } from '../images/images-dir.js';
import { hasOwnPidNamespace, readProcessTree } from '../images/process-tree.js';
import { readRestoreStats, type RestoreStats } from '../images/stats.js';
import type { NativeExitStatus } from '../native/binding.js';
import { planLazyRestore, type LazyPlan } from '../pages/lazy-plan.js';
import { LazyPageServer, type LazyFillStats, type LazySource } from '../pages/lazy-server.js';
import { directoryLazySource, sharesNoPages } from '../pages/lazy-source.js';
import { assertRoot } from '../process/privileges.js';
import { commandLine, processTree, readStat, signalEach, waitUntilGone } from '../process/proc.js';
import { assertRootRunning, watchRestoredRoot, type RestoredRoot } from '../process/restored-root.js';
import { findStored } from '../store.js';
import { scratchDirFor } from '../images/scratch-dir.js';
import { readSnapshotFacts } from '../snapshot/facts.js';
import { SnapshotInstance, validateInstanceOptions, type InstanceInfo } from '../snapshot/instance.js';

export interface RestoreOptions extends CriuOptions {
  /** Restore from this image directory… */
  imagesDir?: string;
  /** …or from this archive… */
  archive?: string;
  /** …or from the local store's checkpoint of this name. */
  name?: string;
  storeRoot?: string;
  /**
   * Return as soon as the tree runs; its memory is placed on demand and in the background
   * (`lazy.fill` settles when all of it is in). Needs userfaultfd.
   */
  lazy?: boolean;
  /**
   * With lazy: pull the lazy pages from this page server (a `criu dump --lazy-pages --address A
   * --port P` source, which keeps the tree frozen until they are all pulled) instead of the images.
   */
  pageServer?: { address: string; port: number; ticket?: Buffer };
  /**
   * With pageServer: pages already here (a pre-copy migration's), served before any is pulled
   * from the page server; `route` rewrites the plan to take them from `file` (image 0).
   */
  preCopied?: { file: string; route(plan: LazyPlan): LazyPlan };
  /** Restore even when the archive's source host looks incompatible (CPU features, CRIU version). */
  force?: boolean;
  /**
   * true (default): the restored tree is on its own, re-parented to init like a daemon.
   * false: its root becomes a child of this process; `exited` reports its end.
   */
  detach?: boolean;
  /** How long to wait for the dumped pids to be reaped before restoring in place (default 10 s). */
  reapTimeoutMs?: number;
  /** Progress of unpacking an archive. */
  onProgress?: (progress: { bytes: number; totalBytes: number }) => void;
  /**
   * For a process's snapshot of itself (snapshot()): each restore starts a new copy beside the
   * original and the other copies, in a pid namespace of its own, lazily unless `lazy: false`.
   * The copy's afterRestore hooks see `env`, and the restore returns once they have run.
   */
  env?: Record<string, string>;
  /** For a snapshot's copy: a network namespace of its own, with only loopback. */
  netns?: boolean;
  /** For a snapshot's copy: how long its afterRestore hooks may take (default 60 s). */
  readyTimeoutMs?: number;
}

export interface LazyRestore {
  /** Settles when every lazy page is in place (ERR_LAZY_FILL_FAILED, with the tree ended, if not). */
  fill: Promise<LazyFillStats>;
  stats(): LazyFillStats;
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
  /** For lazy restores (and archive restores served through userfaultfd). */
  lazy?: LazyRestore;
  /** For a snapshot's copy: where it runs. */
  instance?: InstanceInfo;
}

interface DirectoryRestoreExtras {
  checkVersion?: (version: CriuVersion) => void;
  lazySource?: LazySource;
  plan?: LazyPlan;
  /** A `criu swrk` started ahead, which the restore takes over (and closes). */
  criu?: StartedCriu;
}

export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const sources = [options?.imagesDir, options?.archive, options?.name].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'restore needs exactly one of imagesDir, archive and name');
  }
  if (options.name !== undefined) options = { ...options, archive: await findStored(options.name, options.storeRoot), name: undefined };
  if (options.archive === undefined) return restoreFromDirectory(options);
  return restoreFromArchive(options);
}

/**
 * restore() from an images directory or an archive on a CRIU the caller started ahead: a
 * migration's destination starts it before the source freezes, so its spawn is not part of
 * the freeze (and one started in a prepared network namespace restores the tree into it).
 * The restore owns `criu` from here, whatever its outcome.
 */
export async function restoreOnStartedCriu(options: RestoreOptions & ({ imagesDir: string } | { archive: string }), criu: StartedCriu): Promise<RestoreResult> {
  try {
    return options.archive !== undefined ? await restoreFromArchive(options, criu) : await restoreFromDirectory(options, { criu });
  } catch (error) {
    await criu.session.close(); // a failure before CRIU had the request leaves it waiting
    throw error;
  }
}

/**
 * An archive is unpacked into a scratch directory and restored from there. A full restore of
 * a tree of several processes unpacks everything, so CRIU itself places every page and keeps
 * the copy-on-write sharing between a parent and the children it forked. A lazy one (or a
 * full one of a single process) unpacks all but the pages CRIU would leave to userfaultfd:
 * those go from the archive straight into the restored processes (each process then holds
 * its own copy of pages it shared).
 */
async function restoreFromArchive(options: RestoreOptions, criu?: StartedCriu): Promise<RestoreResult> {
  validateDir('archive', options.archive);
  validateCriuOptions(options);
  assertRoot('restore');
  const started = performance.now();
  const criuPath = locateCriu(options.criu); // before unpacking anything
  const archive = await Archive.open(options.archive as string);
  if (archive.manifest.container) {
    archive.close();
    throw new FreezedryError(
      ErrorCode.UNSUPPORTED_CHECKPOINT,
      `${archive.file} is a checkpoint of the container '${archive.manifest.container.id}': restore it with 'freezedry container restore -i'`,
      { path: archive.file },
    );
  }
  const scratch = await scratchDirFor(
    archive.entries.reduce((sum, entry) => sum + entry.size, 0),
    'freezedry-restore-',
  );
  const logFile = path.join(options.workDir ? path.resolve(options.workDir) : scratch, 'restore.log');
  const progress = options.onProgress && ((bytes: number, totalBytes: number) => options.onProgress?.({ bytes, totalBytes }));
  const checkVersion = options.force ? undefined : (version: CriuVersion) => assertCompatible(archive.manifest.source, version, archive.file);
  // A snapshot's copies start lazily unless asked otherwise.
  if (options.lazy === undefined && archive.manifest.snapshot) options = { ...options, lazy: true };
  let keepArchiveOpen = false;
  let ownCriu: StartedCriu | undefined;
  try {
    // CRIU starts while the archive is planned and unpacked, as beside a directory's planning.
    // A snapshot's copy needs a CRIU of its own (its fds, its launcher): none is started for it.
    if (criu === undefined && !archive.manifest.snapshot) criu = ownCriu = startCriu(criuPath);
    let result: RestoreResult;
    // A single process shares no page with another, so even a full restore loses nothing if
    // its pages go from the archive straight into it through userfaultfd (none unpacked).
    if (options.lazy || ((await sharesNoPages(archive.imageSource())) && (await lazyPagesAvailable(criuPath)))) {
      const plan = await planLazyRestore(archive.imageSource());
      await archive.extract(scratch, progress, plan.eager);
      result = await restoreFromDirectory(
        { ...options, archive: undefined, imagesDir: scratch },
        { checkVersion, plan, lazySource: archive.pageSource(plan.images, '', options.lazy === true), criu },
      );
      if (!options.lazy) {
        // Full: it returns once every page is in place and the process still runs.
        await result.lazy?.fill;
        result = { ...result, lazy: undefined };
      } else if (result.lazy) {
        // The archive stays open while the fill reads from it.
        const fill = result.lazy.fill.finally(() => archive.close());
        fill.catch(() => {}); // observed by the caller through result.lazy.fill
        result = { ...result, lazy: { ...result.lazy, fill } };
        keepArchiveOpen = true;
      }
    } else {
      await archive.extract(scratch, progress);
      result = await restoreFromDirectory({ ...options, archive: undefined, imagesDir: scratch }, { checkVersion, criu });
    }
    // Synchronous: a few dozen small files go in under a millisecond, where fs.promises.rm's
    // round trips through libuv's pool waited 1-12 ms behind a lazy tree's fill on two cores.
    rmSync(scratch, { recursive: true, force: true });
    return { ...result, imagesDir: undefined, archive: archive.file, durationMs: performance.now() - started };
  } catch (error) {
    await ownCriu?.session.close(); // closed already if the restore got as far as CRIU's answer
    // Keep only CRIU's log, which the error points to.
    await removePartialImages(scratch, logFile);
    if ((await readdir(scratch)).length === 0) await rm(scratch, { recursive: true, force: true });
    throw error;
  } finally {
    if (!keepArchiveOpen) archive.close();
  }
}

async function restoreFromDirectory(options: RestoreOptions, extras: DirectoryRestoreExtras = {}): Promise<RestoreResult> {
  const started = performance.now();
  validateDir('imagesDir', options?.imagesDir);
  validateCriuOptions(options);
  if (options.detach !== undefined && typeof options.detach !== 'boolean') {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, 'detach must be a boolean');
  }
  if (options.pageServer && !options.lazy) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'pageServer needs lazy: true (pages are pulled on demand)');
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  assertRoot('restore');
  const criuPath = locateCriu(options.criu);
  const imagesDir = path.resolve(options.imagesDir as string);
  await assertImagesPresent(imagesDir);
  const workDir = path.resolve(options.workDir ?? imagesDir);
  const logFile = path.join(workDir, 'restore.log');
  const detach = options.detach ?? true;
  const snapshot = await readSnapshotFacts(imagesDir);
  validateInstanceOptions(options);
  // A snapshot's restore needs the switches its dump used (a process that was not a session leader: shellJob).
  if (snapshot) {
    for (const [name, value] of Object.entries(snapshot.criu)) {
      if (options[name as keyof CriuOptions] === undefined) options = { ...options, [name]: value };
    }
  }
  if (!snapshot && (options.env !== undefined || options.netns !== undefined)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `env and netns are for a snapshot's copies; ${imagesDir} is a plain checkpoint`);
  }
  if (snapshot && workDir !== imagesDir) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "a snapshot's copy keeps CRIU's work files in its images directory: workDir cannot be set");
  }
  if (snapshot && !detach) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "a snapshot's copy runs under its own pid namespace's init: it cannot be restored attached");
  }
  // A copy has a pid namespace of its own, where the dumped pids are free.
  if (!snapshot) await waitForDumpedPids(imagesDir, options.reapTimeoutMs ?? 10_000);

  const lazy = options.lazy === true || extras.lazySource !== undefined || (snapshot !== undefined && options.lazy === undefined);
  // CRIU starts while the lazy pages are planned: its start is tens of milliseconds of the restore.
  const instance = snapshot ? new SnapshotInstance(snapshot, options) : undefined;
  let criu: StartedCriu;
  try {
    // A snapshot's copy needs a CRIU of its own (its fds, its launcher): one started ahead goes.
    if (extras.criu && instance) void extras.criu.session.close();
    criu = extras.criu && !instance ? extras.criu : { ...startCriu(criuPath, { inheritFds: instance?.inheritFds, launcher: instance?.launcher }), inherit: instance?.inherit };
  } catch (error) {
    instance?.abandon();
    throw error;
  }
  let server: LazyPageServer | undefined;
  const pageFiles: number[] = [];
  const closeFiles = () => pageFiles.splice(0).forEach((fd) => closeSync(fd));
  if (lazy) {
    const remote = options.pageServer ? { pageServer: options.pageServer, preCopied: options.preCopied } : undefined;
    try {
      const { plan, source } =
        extras.plan && extras.lazySource ? { plan: extras.plan, source: extras.lazySource } : await directoryLazySource(imagesDir, remote, pageFiles);
      server = LazyPageServer.start(workDir, plan, source);
    } catch (error) {
      closeFiles();
      instance?.abandon();
      await criu.session.close();
      throw error;
    }
  }

  let root: RestoredRoot;
  let version: CriuVersion;
  // The restored root's host pid once CRIU names it: if the restore fails after that (CRIU
  // killed, say), the tree it had restored must not run on.
  let restoredRoot: number | undefined;
  let statsRead: Promise<RestoreStats | undefined> | undefined;
  const noteRoot: NotificationHandler = async (notification) => {
    if (notification.name === 'post-restore' && notification.pid !== undefined) {
      const pid = notification.pid;
      restoredRoot = pid;
      // The lazy tree's watchdog is spawned (a few ms on this thread) once CRIU has its answer
      // and goes on restoring, rather than after CRIU is done, when the tree waits on us.
      if (server) setImmediate(() => server?.attach(pid));
    }
    await options.onNotification?.(notification);
  };
  try {
    const answer = await runImageRequest(
      criuPath,
      { imagesDir, workDir },
      (fds) => ({
        type: RequestType.RESTORE,
        opts: {
          ...commonRpcOptions(options),
          ...fds,
          restoreAsSibling: !detach,
          lazyPages: lazy,
          logFile: 'restore.log',
          notifyScripts: true, // post-restore names the root, which a failure after it must end
          ...(criu.inherit ? { inheritFds: criu.inherit } : {}),
          // CRIU in the copy's pid namespace cannot see our /proc/PID/fd: it opens the images by path.
          ...(instance ? { imagesDirFd: -1, imagesDir, workDirFd: undefined } : {}),
        },
      }),
      {
        onNotification: instance ? instance.notificationHandler(options.onNotification) : noteRoot,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
        checkVersion: extras.checkVersion,
      },
      criu,
    );
    version = answer.version;
    if (!answer.outcome.response.success || !answer.outcome.response.restore) {
      throw await failureError('restore', answer.outcome, logFile, `criu restore from ${imagesDir}`);
    }
    // Read while the rest goes on: behind the fill's work on two cores, a read can wait ms.
    statsRead = readRestoreStats(workDir);
    root = watchRestoredRoot(instance ? instance.hostPid() : answer.outcome.response.restore.pid, !detach);
    // A copy waits for this word before anything else (its hooks, then its service): before the
    // lazy fill's watchdog below, whose start would delay it.
    try {
      instance?.tell();
    } catch (error) {
      root.release();
      throw error;
    }
  } catch (error) {
    instance?.abandon();
    instance?.end();
    // (A copy's pid is inside its namespace: its init ends it above. Otherwise CRIU reports host pids.)
    if (!instance && restoredRoot !== undefined && restoredRoot > 1 && restoredRoot !== process.pid) {
      signalEach(processTree(restoredRoot).reverse(), 'SIGKILL');
    }
    server?.close();
    closeFiles();
    throw error;
  }

  let lazyRestore: LazyRestore | undefined;
  if (server) {
    const pages = server;
    pages.attach(root.pid);
    // Complete means every page is in and the tree still runs.
    const fill = pages.complete
      .finally(closeFiles)
      .then(async (stats) => {
        await assertRootRunning(root, 'the lazy fill');
        return stats;
      })
      .finally(() => detach && root.release());
    fill.catch(() => {});
    lazyRestore = { fill, stats: () => pages.stats() };
  }
  try {
    await instance?.ready();
    await assertRootRunning(root, 'its restore');
  } catch (error) {
    if (lazyRestore) {
      server?.close();
      root.release();
    }
    throw error;
  } finally {
    if (detach && !lazyRestore) root.release();
  }
  return {
    pid: root.pid,
    imagesDir,
    logFile,
    durationMs: performance.now() - started,
    stats: await statsRead,
    criu: { path: criuPath, version: version.text },
    exited: detach ? undefined : root.exited,
    lazy: lazyRestore,
    instance: instance?.info(),
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
