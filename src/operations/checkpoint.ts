// checkpoint(): dump a running process tree into an image directory or a compressed archive.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiveBuilder, openDumpTarget, validateArchiveOptions, type ArchiveOptions } from '../archive/archive-builder.js';
import { writeError } from '../native/native-errors.js';
import { sourceHost } from '../archive/manifest.js';
import { ErrorCode, FreezedryError, ValidationError, abortError, isFreezedryError } from '../errors.js';
import { features } from '../criu/features.js';
import { LAZY_PAGES_IN_PLACE_ENVIRONMENT, locateCriu } from '../criu/locate.js';
import { sayGoodbyeOnEnd } from '../criu/page-server-goodbye.js';
import { failureError, runImageRequest } from '../criu/operation.js';
import { commonRpcOptions, validateCriuOptions, validateDir, validatePid, type CriuOptions } from '../criu/options.js';
import { RequestType } from '../criu/rpc-schema.js';
import { closeFd, openDirFd, removePartialImages } from '../images/images-dir.js';
import { summarizeCheckpoint } from '../images/image-summary.js';
import { directorySource, type ImageSource } from '../images/image-source.js';
import { readDumpStats, type DumpStats } from '../images/stats.js';
import { readDumpRunId } from '../images/inventory.js';
import { CRIU_PAGE_SERVER_FD, PageSinkSession } from '../pages/page-sink.js';
import { releaseCriuLocks } from '../process/criu-locks.js';
import { assertRoot } from '../process/privileges.js';
import { newStoreEntry } from '../store.js';
import { SNAPSHOT_FILE, type SnapshotFacts } from '../snapshot/facts.js';
import { commandLine, isStopped, processTree, readStat, residentBytes, signalEach } from '../process/proc.js';
import { resumeTreeIfThisProcessDies } from '../process/watchdog.js';

export interface CheckpointProgress {
  /** Page bytes received so far. */
  bytes: number;
  /** Resident memory of the tree when the dump began: about what will be written. */
  estimatedBytes: number;
}

export interface CheckpointOptions extends CriuOptions {
  /** Images go into this new or empty directory (created if missing)… */
  imagesDir?: string;
  /** …or into this single compressed, seekable archive (.tar.zst). */
  archive?: string;
  /** …or into the local store under this name (an archive in storeRoot). */
  name?: string;
  storeRoot?: string;
  archiveOptions?: ArchiveOptions;
  /** For imagesDir: stream pages through freezedry's page sink instead of CRIU writing them. */
  pageSink?: boolean;
  /** Keep the tree running after the dump (criu --leave-running); default: it is killed. */
  leaveRunning?: boolean;
  /** Keep the tree stopped after the dump (criu --leave-stopped): for a migration that may fall back. */
  leaveStopped?: boolean;
  /**
   * Serve memory lazily instead of writing it (criu dump --lazy-pages --port): the tree stays
   * frozen while a lazy restore elsewhere pulls its pages; the call ends once all are pulled.
   */
  lazyPages?: {
    port: number;
    /** Where CRIU's page server listens (default: every address; it admits anyone). */
    address?: string;
    /**
     * Aborting it stops serving (it needs leaveStopped or leaveRunning): CRIU's page session
     * ends as its client's goodbye would (criu/page-server-goodbye.ts), and the checkpoint
     * fails with the tree resumed, its connections whole.
     */
    abandon?: AbortSignal;
  };
  /** Track memory changes for a later incremental dump (needs soft-dirty in the kernel). */
  trackMem?: boolean;
  /**
   * A pre-dump (criu pre-dump): only memory, the tree frozen just long enough to collect it and
   * then running on; memory tracking is reset, so a later dump with this as parentImages writes
   * only what changed since. Needs soft-dirty in the kernel, checked first.
   */
  preDump?: boolean;
  /** Images of an earlier dump to diff against, relative to imagesDir (criu --prev-images-dir). */
  parentImages?: string;
  /** Called about ten times a second while pages stream (archive and pageSink dumps). */
  onProgress?: (progress: CheckpointProgress) => void;
  /** Set by snapshot()'s agent: recorded beside the images (snapshot.json, or the manifest). */
  snapshot?: SnapshotFacts;
}

export interface CheckpointResult {
  pid: number;
  /** The image directory (for a directory dump). */
  imagesDir?: string;
  /** The archive written (for an archive dump). */
  /** storedBytes: of uncompressedBytes, those stored as they are (adaptive compression). */
  archive?: { file: string; bytes: number; uncompressedBytes: number; storedBytes: number; entries: number };
  /** CRIU's log (for an archive dump it is inside the archive, as dump.log). */
  logFile?: string;
  /** Wall time of the whole call. */
  durationMs: number;
  /** Whether the tree still runs (leaveRunning). */
  leftRunning: boolean;
  /** The pids that were in the tree when the dump began. */
  pids: number[];
  stats?: DumpStats;
  criu: { path: string; version: string };
  /** For a tree left stopped: the run id of CRIU's dump, which names the network lock it left (releaseCriuLocks). */
  criuRunId?: string;
}

export async function checkpoint(pid: number, options: CheckpointOptions): Promise<CheckpointResult> {
  const started = performance.now();
  validatePid(pid);
  const targets = [options?.imagesDir, options?.archive, options?.name].filter((t) => t !== undefined);
  if (targets.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'checkpoint needs exactly one of imagesDir, archive and name');
  }
  if (options.name !== undefined) options = { ...options, archive: await newStoreEntry(options.name, options.storeRoot), name: undefined };
  if (options.imagesDir !== undefined) validateDir('imagesDir', options.imagesDir);
  if (options.archive !== undefined) validateDir('archive', options.archive);
  validateCriuOptions(options);
  if (options.archiveOptions) validateArchiveOptions(options.archiveOptions);
  if (options.preDump && (options.archive !== undefined || options.pageSink || options.lazyPages || options.leaveStopped)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'a pre-dump writes an images directory and leaves the tree running: no archive, pageSink, lazyPages or leaveStopped');
  }
  if (options.lazyPages?.abandon && !options.leaveStopped && !options.leaveRunning) {
    // The goodbye ends CRIU's page session as a success, after which CRIU would end the tree.
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'lazyPages.abandon needs leaveStopped or leaveRunning: an abandoned dump must leave the tree to resume');
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  assertRoot('checkpoint');
  const criuPath = locateCriu(options.criu);
  if (options.preDump) await assertMemoryTracking(criuPath);

  const root = readStat(pid);
  if (!root || root.state === 'Z' || root.state === 'X') {
    throw new FreezedryError(
      ErrorCode.NO_SUCH_PROCESS,
      root ? `Process ${pid} (${root.comm}) has already exited (it is a zombie)` : `No process with pid ${pid}`,
      { pid },
    );
  }
  const command = commandLine(pid) || root.comm;
  // Which tasks were already stopped, so that recovery after a failure resumes only ours.
  const pids = processTree(pid);
  if (pids.includes(process.pid)) {
    throw new FreezedryError(
      ErrorCode.SELF_CHECKPOINT,
      `pid ${pid} (${command}) is this process${pid === process.pid ? '' : ' or one of its ancestors'}: CRIU would freeze itself. ` +
        'A process snapshots itself with snapshot() (CRIU then runs outside it)',
      { pid },
    );
  }
  // Session 0: its session leader lives in an ancestor pid namespace (a shell outside a
  // container, say). CRIU refuses such a tree even as a shell job; say why before freezing it.
  if (root.sid === 0) {
    throw new FreezedryError(
      ErrorCode.CRIU_DUMP_FAILED,
      `pid ${pid} (${command}) belongs to a session led from outside its pid namespace, which CRIU cannot dump even as a shell job: ` +
        'start it in a session of its own (setsid) or under a session leader inside the namespace',
      { pid },
    );
  }
  const stoppedBefore = new Set(pids.filter((p) => isStopped(readStat(p))));

  // An archive dump lets CRIU write its small non-page images into a scratch directory.
  const { builder, dir: imagesDir } = await openDumpTarget(options, 'freezedry-dump-');
  // A dump into an archive that ends the tree must not end it before the archive is whole: CRIU
  // leaves it stopped, it is killed once the archive is written and synced, and resumed if
  // anything fails first (this process dying included).
  const holdTree = builder !== undefined && !options.leaveRunning && !options.leaveStopped && !options.lazyPages;
  const releaseGuard = holdTree ? resumeTreeIfThisProcessDies(pids, { imagesDir }) : undefined;
  const workDir = path.resolve(options.workDir ?? imagesDir);
  const logFile = path.join(workDir, 'dump.log');

  let sink: PageSinkSession | undefined;
  let progress: NodeJS.Timeout | undefined;
  let dumpedStopped = false;
  let criuRunId: string | undefined; // of a dump left stopped: it names the lock left on the tree
  let servedLazily = false;
  // CRIU's RPC passes a lazy page server no address (it would listen on all of them); its
  // configuration file still can.
  const lazyConfig = options.lazyPages?.address ? await writeConfig([`address ${options.lazyPages.address}`]) : undefined;
  // Abandoned before CRIU serves, it is told no at status-ready; while it serves, goodbye.
  const abandon = options.lazyPages?.abandon;
  const stopServing = new AbortController();
  const onAbandon = () => {
    if (servedLazily) stopServing.abort(abandon?.reason);
  };
  abandon?.addEventListener('abort', onAbandon, { once: true });
  const goodbye = options.lazyPages ? sayGoodbyeOnEnd(stopServing.signal, options.lazyPages.address ?? '127.0.0.1', options.lazyPages.port) : undefined;
  try {
    if (builder) {
      sink = PageSinkSession.toArchive(builder.writer);
    } else if (options.pageSink) {
      const dirFd = openDirFd(imagesDir);
      try {
        sink = PageSinkSession.toDirectory(dirFd);
      } finally {
        closeFd(dirFd);
      }
    }
    if (sink && options.onProgress) {
      const estimatedBytes = residentBytes(pids);
      const report = options.onProgress;
      const pages = sink;
      progress = setInterval(() => report({ bytes: pages.counters().bytes, estimatedBytes }), 100);
    }
    const { outcome, version } = await runImageRequest(
      criuPath,
      { imagesDir, workDir },
      (fds) => ({
        type: options.preDump ? RequestType.PRE_DUMP : RequestType.DUMP,
        opts: {
          ...commonRpcOptions(options),
          // status-ready stops a lazily dumped tree (below), whoever else listens.
          ...(options.lazyPages ? { notifyScripts: true } : {}),
          ...fds,
          pid,
          leaveRunning: options.preDump ? undefined : options.leaveRunning,
          leaveStopped: options.leaveStopped || holdTree,
          lazyPages: options.lazyPages ? true : undefined,
          trackMem: options.trackMem || options.preDump,
          parentImages: options.parentImages,
          pageServer: sink ? { fd: CRIU_PAGE_SERVER_FD } : options.lazyPages ? { address: options.lazyPages.address, port: options.lazyPages.port } : undefined,
          configFile: lazyConfig,
          logFile: 'dump.log',
        },
      }),
      {
        onNotification: async (n) => {
          // CRIU lets go of the tree once its page session ends, and when that session fails
          // (a client that reset it, say), it lets the tree run without undoing its locks
          // (undone before serving only for a tree left running): stopped now, it waits for the
          // release below (or the caller's) instead.
          if (options.lazyPages && n.name === 'status-ready') {
            if (!options.leaveRunning) signalEach(pids, 'SIGSTOP');
            servedLazily = true;
            if (abandon?.aborted) throw abortError(abandon);
          }
          // The abort signal is ours to honour (not the session's): at status-ready, only after the stop.
          if (options.signal?.aborted) throw abortError(options.signal);
          await options.onNotification?.(n);
          if (options.signal?.aborted) throw abortError(options.signal);
        },
        timeoutMs: options.timeoutMs,
        kill: goodbye?.kill,
        // Stopped first, a tree that CRIU lets go of when killed stays so until its locks are undone below.
        beforeKill: () => signalEach(pids, 'SIGSTOP'),
        inheritFds: sink ? [sink.criuEnd] : [],
        // A CRIU built by scripts/provision.sh leaves the pages in the stopped tree, read as they
        // are pulled, instead of pinning every one into pipes while it is frozen.
        environment: options.lazyPages ? LAZY_PAGES_IN_PLACE_ENVIRONMENT : undefined,
      },
    );
    if (!outcome.response.success) {
      // A sink that failed (a full disk) made CRIU fail: its error is the cause, unless we
      // stopped CRIU ourselves (an abort ends the page session early too). Its report can reach
      // us after CRIU's answer: the sink is stopped and heard first. Stopped, it can only say
      // that its socket ended, which is no cause.
      if (sink && !outcome.rejected) {
        sink.cancel();
        await sink.done.catch(() => {});
        if (sink.failure && !socketEnded(sink.failure)) throw writeError(sink.failure, builder?.partial ?? imagesDir);
      }
      throw await failureError('dump', outcome, logFile, `criu dump of pid ${pid} (${command})`, imagesDir);
    }
    // Left stopped, the tree keeps CRIU's network lock until it moves; a failure from here removes it.
    dumpedStopped = options.leaveStopped === true || holdTree;
    if (dumpedStopped) criuRunId = await readDumpRunId(imagesDir);
    if (abandon?.aborted) throw abortError(abandon);
    await sink?.done.catch((error: unknown) => {
      throw writeError(error, builder?.partial ?? imagesDir);
    });
    const stats = await readDumpStats(imagesDir);
    if (options.snapshot) await writeFile(path.join(imagesDir, SNAPSHOT_FILE), `${JSON.stringify(options.snapshot)}\n`);
    const result: CheckpointResult = {
      pid,
      logFile,
      durationMs: 0,
      leftRunning: options.leaveRunning === true || options.preDump === true,
      pids,
      stats,
      criu: { path: criuPath, version: version.text },
      criuRunId,
    };
    if (builder && sink) {
      result.archive = await assembleArchive(builder, sink, imagesDir, { pid, command, criuVersion: version.text, stats, snapshot: options.snapshot });
      if (holdTree) signalEach([...pids].reverse(), 'SIGKILL'); // the archive is complete: now it may end
      await rm(imagesDir, { recursive: true, force: true });
      result.logFile = undefined;
    } else {
      result.imagesDir = imagesDir;
    }
    result.durationMs = performance.now() - started;
    return result;
  } catch (error) {
    sink?.cancel();
    // CRIU undoes its locks when it fails, not when it dies (killed, a timeout, a crash) nor
    // when its page session fails.
    if (dumpedStopped || servedLazily || criuLetGo(error)) await releaseCriuLocks(pid, pids, criuRunId ?? (await readDumpRunId(imagesDir)));
    await resumeStopped(pids, stoppedBefore);
    await builder?.abandon();
    await removePartialImages(imagesDir, logFile);
    throw error;
  } finally {
    abandon?.removeEventListener('abort', onAbandon);
    goodbye?.dispose();
    releaseGuard?.();
    if (progress) clearInterval(progress);
    sink?.close();
    if (lazyConfig) await rm(path.dirname(lazyConfig), { recursive: true, force: true });
  }
}

const socketEnded = (error: Error) => ['EPIPE', 'ECONNRESET'].includes((error as Error & { code?: string }).code ?? '');

/** A CRIU configuration file of these lines, in a directory of its own. */
async function writeConfig(lines: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'freezedry-criu-conf-'));
  const file = path.join(dir, 'criu.conf');
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

async function assembleArchive(
  builder: ArchiveBuilder,
  sink: PageSinkSession,
  imagesDir: string,
  facts: { pid: number; command: string; criuVersion: string; stats?: DumpStats; snapshot?: SnapshotFacts },
): Promise<NonNullable<CheckpointResult['archive']>> {
  const pagemaps = new Map(sink.pagemaps().map(({ name, bytes }) => [name, bytes]));
  builder.fillReserved(sink.pagesEntries());
  for (const [name, bytes] of pagemaps) builder.addBytes(name, bytes);
  await builder.addDirectory(imagesDir);
  const source: ImageSource = {
    names: async () => [...pagemaps.keys(), ...(await readdir(imagesDir))],
    read: async (name) => pagemaps.get(name) ?? directorySource(imagesDir).read(name),
  };
  const finished = await builder.finish({
    createdAt: new Date().toISOString(),
    pid: facts.pid,
    command: facts.command,
    source: sourceHost(facts.criuVersion),
    summary: await summarizeCheckpoint(source),
    criuStats: facts.stats,
    snapshot: facts.snapshot,
  });
  const { bytesIn: uncompressedBytes, bytesStored: storedBytes } = builder.writer.counters();
  return { file: finished.file, bytes: finished.bytes, uncompressedBytes, storedBytes, entries: finished.entries.length + 1 };
}

/**
 * CRIU's memory tracking reads the kernel's soft-dirty bits. Without them (no
 * CONFIG_MEM_SOFT_DIRTY) CRIU 4.x refuses --track-mem with a clear error, but its pre-dump
 * aborts on an assertion ("BUG at criu/mem.c") after seizing the tree: refuse it here first.
 */
async function assertMemoryTracking(criuPath: string): Promise<void> {
  if ((await features({ criu: criuPath })).memTrack) return;
  throw new FreezedryError(
    ErrorCode.KERNEL_FEATURE_MISSING,
    'CRIU cannot track memory changes on this kernel (no soft-dirty bits: CONFIG_MEM_SOFT_DIRTY is off), so it cannot pre-dump; ' +
      "'freezedry migrate' tracks writes with userfaultfd instead (--dirty-tracking uffd)",
  );
}

/** Whether CRIU went away without answering, leaving whatever it had done to the tree. */
function criuLetGo(error: unknown): boolean {
  return isFreezedryError(error) && (error.code === ErrorCode.CRIU_DIED || error.code === ErrorCode.CRIU_TIMEOUT);
}

/**
 * A dump that failed must never leave the tree frozen. CRIU resumes it on its own failures;
 * this covers CRIU itself dying mid-dump (its ptrace stops end with it, a group stop may not).
 */
async function resumeStopped(pids: number[], stoppedBefore: Set<number>): Promise<void> {
  // CRIU may answer a failure before it has let go of every task (still traced): the failure
  // is reported only once the tree runs again (or after 2 s, so a stuck task cannot hang us).
  const deadline = performance.now() + 2000;
  for (;;) {
    const held = pids.filter((p) => !stoppedBefore.has(p) && isStopped(readStat(p)));
    signalEach(held, 'SIGCONT');
    if (held.length === 0 || performance.now() > deadline) return;
    await sleep(10);
  }
}
