// checkpointContainer(): a runc container into a directory, an archive or the store, laid out
// as Podman's exports are (checkpoint/, spec.dump, rootfs-diff.tar, deleted.files, stats-dump).
// runc runs CRIU; for an archive its pages stream into freezedry's page sink on a socket CRIU inherits.
//
// Never losing the container: unless it is to keep running, it is paused (cgroup freezer)
// and dumped with --leave-running, so it stays paused while the archive is finished, and is
// only then killed; any failure resumes it. With --tcp-established that would let the kernel
// acknowledge data the images lack, so such a dump stops it (CRIU keeps the network locked);
// a failure after the dump then restores it again from the images just written.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiveBuilder, openDumpTarget, validateArchiveOptions, type ArchiveOptions } from '../archive/archive-builder.js';
import { writeError } from '../native/native-errors.js';
import { sourceHost } from '../archive/manifest.js';
import { ErrorCode, FreezedryError, ValidationError, abortError } from '../errors.js';
import { readLog } from '../criu/log.js';
import { removePartialImages } from '../images/images-dir.js';
import { directorySource, type ImageSource } from '../images/image-source.js';
import { summarizeCheckpoint } from '../images/image-summary.js';
import { readDumpStats, type DumpStats } from '../images/stats.js';
import { PageSinkSession } from '../pages/page-sink.js';
import { assertRoot } from '../process/privileges.js';
import { processTree, residentBytes } from '../process/proc.js';
import type { CheckpointProgress } from '../operations/checkpoint.js';
import { newStoreEntry } from '../store.js';
import { bundleOf, readRecord, readSpec, validateContainerId, type ContainerRecord } from './bundle.js';
import { CHECKPOINT_DIR, CHECKPOINT_PREFIX, CONTAINER_FACTS, SPEC_DUMP, type ContainerFacts } from './layout.js';
import { rootfsFingerprint, upperChanges, writeRootfsDiff, type RootfsChanges } from './rootfs-diff.js';
import { describeNetwork, type NetworkFacts } from './network.js';
import { PausedContainer } from './pause.js';
import { Runc, withCriuErrors, type RuncOptions, type RuncState } from './runc.js';
import { networkNamespaceOf, type OciSpec } from './spec.js';
import { runcRestore, type RuncRestoreRequest } from './restore.js';

export interface ContainerCheckpointOptions extends RuncOptions {
  /** Into this new or empty directory… */
  imagesDir?: string;
  /** …or this compressed, seekable archive (.tar.zst)… */
  archive?: string;
  /** …or the local store under this name. */
  name?: string;
  storeRoot?: string;
  archiveOptions?: ArchiveOptions;
  /** Keep the container running after the checkpoint (default: it is stopped and removed from runc). */
  leaveRunning?: boolean;
  /** Checkpoint established TCP connections (restore them too). */
  tcpEstablished?: boolean;
  /** Checkpoint file locks. */
  fileLocks?: boolean;
  /** For a container freezedry did not start (a plain rootfs): carry the whole rootfs along. */
  withRootfs?: boolean;
  /** With an archive: called every 100 ms with the page bytes streamed so far, as checkpoint()'s. */
  onProgress?: (progress: CheckpointProgress) => void;
  signal?: AbortSignal;
}

export interface ContainerCheckpointResult {
  id: string;
  /** Host pid of its init when the checkpoint began. */
  pid: number;
  imagesDir?: string;
  /** storedBytes: of uncompressedBytes, those stored as they are (adaptive compression). */
  archive?: { file: string; bytes: number; uncompressedBytes: number; storedBytes: number; entries: number };
  durationMs: number;
  leftRunning: boolean;
  stats?: DumpStats;
  rootfsChanges: { changed: number; deleted: number };
}

/** A running container as a checkpoint finds it, read once before anything freezes. */
export interface RunningContainer {
  id: string;
  state: RuncState;
  /** freezedry's record, for a container it runs. */
  record?: ContainerRecord;
  spec: OciSpec;
  /** Its own network namespace's veths and routes (before any leaves its bridge). */
  network?: NetworkFacts;
}

/** The running container `id`: ERR_NO_SUCH_CONTAINER, or ERR_CONTAINER_NOT_RUNNING when it is not running. */
export async function runningContainer(runc: Runc, id: string): Promise<RunningContainer> {
  const state = await runc.existing(id);
  if (state.status !== 'running') {
    throw new FreezedryError(ErrorCode.CONTAINER_NOT_RUNNING, `The container '${id}' is ${state.status}, not running: nothing to checkpoint`, { id });
  }
  const spec = readSpec(state.bundle);
  // A namespace given to runc by path (freezedry's, an engine's) is rebuilt on restore from
  // what it holds; one runc made itself CRIU brings back empty, as runc always has it.
  const given = networkNamespaceOf(spec)?.path !== undefined;
  return { id, state, record: readRecord(id), spec, network: given ? await describeNetwork(state.pid) : undefined };
}

export async function checkpointContainer(id: string, options: ContainerCheckpointOptions): Promise<ContainerCheckpointResult> {
  validateContainerId(id);
  if (options.archiveOptions) validateArchiveOptions(options.archiveOptions);
  const targets = [options?.imagesDir, options?.archive, options?.name].filter((t) => t !== undefined);
  if (targets.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'checkpointContainer needs exactly one of imagesDir, archive and name');
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  assertRoot('checkpoint a container');
  const runc = await Runc.open(options);
  const container = await runningContainer(runc, id);
  if (options.name !== undefined) options = { ...options, archive: await newStoreEntry(options.name, options.storeRoot), name: undefined };
  return (await dumpContainer(runc, container, options, false)).result;
}

/**
 * A migration's stop-copy: the container into an archive, left paused with its veths off
 * their bridges (even with established TCP connections, which nothing then reaches) until the
 * migration resumes or ends it.
 */
export async function checkpointContainerHeld(runc: Runc, container: RunningContainer, facts: ContainerFacts, options: ContainerCheckpointOptions & { archive: string }) {
  const { result, paused } = await dumpContainer(runc, container, options, true, facts);
  return { result, paused: paused as PausedContainer };
}

async function dumpContainer(
  runc: Runc,
  container: RunningContainer,
  options: ContainerCheckpointOptions,
  hold: boolean,
  /** Its facts, when the caller read them already (containerFacts hashes the rootfs). */
  knownFacts?: ContainerFacts,
): Promise<{ result: ContainerCheckpointResult; paused?: PausedContainer }> {
  const started = performance.now();
  const { id, state, record } = container;

  const { builder, dir } = await openDumpTarget(options, 'freezedry-ctr-dump-');
  // runc's work path is the checkpoint's top: CRIU's stats-dump lands where Podman's layout
  // has it, and dump.log where a failed dump leaves it (and a retry into the directory allows it).
  const imagesDir = path.join(dir, CHECKPOINT_DIR);
  const logFile = path.join(dir, 'dump.log');
  const criuOptions = { tcpEstablished: options.tcpEstablished === true, fileLocks: options.fileLocks === true };
  const pause = hold || (!options.leaveRunning && !options.tcpEstablished);
  let session: PageSinkSession | undefined;
  let paused: PausedContainer | undefined;
  let progress: NodeJS.Timeout | undefined;
  let known: ContainerFacts;
  let written: Promise<ContainerFacts> | undefined;
  let dumped = false;
  try {
    await mkdir(imagesDir, { recursive: true });
    // Known before it freezes (the rootfs's fingerprint is read here, not while it is paused).
    known = knownFacts ?? (await containerFacts(container, criuOptions, options.withRootfs === true));
    // Pages stream into the archive through the native sink, on a socket runc's CRIU inherits.
    if (builder) session = PageSinkSession.toArchive(builder.writer, CHECKPOINT_PREFIX);
    if (session && options.onProgress) {
      const estimatedBytes = residentBytes(processTree(state.pid));
      const [report, pages] = [options.onProgress, session];
      progress = setInterval(() => report({ bytes: pages.counters().bytes, estimatedBytes }), 100);
    }
    const pausing = pause ? PausedContainer.duringDump(runc, id, state.pid, { unplug: hold }) : undefined;
    const args = [
      'checkpoint',
      '--image-path', imagesDir,
      '--work-path', dir,
      ...(options.leaveRunning || pause ? ['--leave-running'] : []),
      ...(options.tcpEstablished ? ['--tcp-established'] : []),
      ...(options.fileLocks ? ['--file-locks'] : []),
      // An address (with a port: runc drops one without) only so that CRIU sends its pages to a
      // page server at all; the inherited socket replaces it.
      ...(session ? ['--page-server', '127.0.0.1:1'] : []),
      id,
    ];
    const dump = runc
      .exec(`runc checkpoint ${id}`, { args, signal: options.signal, pageServerSocket: session?.criuEnd, ...pausing?.call }, ErrorCode.CRIU_DUMP_FAILED)
      .catch(async (error: unknown) => {
        // A sink that failed (a full disk) made CRIU fail: its error is the cause.
        if (session && builder) {
          await Promise.race([session.done.catch(() => {}), sleep(1000)]);
          if (session.failure) throw writeError(session.failure, builder.partial);
        }
        throw await withCriuErrors(error, logFile);
      })
    dump.catch(() => {}); // awaited below
    if (pausing) {
      paused = await pausing.paused(dump);
      // Paused, its files cannot change: they are written while runc dumps (a container left
      // running has them written after its dump, as before).
      written = writeContainerFiles(container, dir, known);
      written.catch(() => {}); // awaited after the dump
    }
    await dump;
    dumped = true;
    await session?.done;
    const facts = await (written ?? writeContainerFiles(container, dir, known));
    const stats = await readDumpStats(dir);
    const result: ContainerCheckpointResult = {
      id,
      pid: state.pid,
      durationMs: 0,
      leftRunning: options.leaveRunning === true,
      stats,
      rootfsChanges: facts.rootfsChanges,
    };
    if (builder && session) {
      result.archive = await assembleArchive(builder, session, dir, facts, stats);
      await rm(dir, { recursive: true, force: true });
    } else {
      result.imagesDir = dir;
    }
    result.durationMs = performance.now() - started;
    if (hold) return { result, paused };
    // Only now, with the checkpoint complete, does the container stop.
    await paused?.end();
    return { result };
  } catch (error) {
    session?.cancel();
    await written?.catch(() => {}); // nothing of it may land after the clean-up below
    await builder?.abandon();
    if (paused) await paused.resume();
    else if (dumped && !options.leaveRunning) {
      await recover(runc, { id, bundleDir: state.bundle, imagesDir, workDir: imagesDir, logFile: record ? bundleOf(id).logFile : '/dev/null', criuOptions }, error);
    }
    // Only CRIU's log stays, which the error points to (a scratch directory's too, as for processes).
    await removePartialImages(dir, logFile);
    throw error;
  } finally {
    clearInterval(progress);
    session?.close();
  }
}

/** The dump stopped the container and what followed failed: it runs again from the images. */
async function recover(runc: Runc, request: RuncRestoreRequest, cause: unknown): Promise<void> {
  try {
    await runcRestore(runc, request);
  } catch (error) {
    throw new FreezedryError(
      ErrorCode.CRIU_RESTORE_FAILED,
      `The checkpoint of '${request.id}' failed after the dump (${(cause as Error).message}) and restoring it from ${request.imagesDir} failed too: ${(error as Error).message}; its images are kept there`,
      { cause: error },
    );
  }
}

/**
 * What a restore needs to know of the container beyond its spec (the rootfs's fingerprint
 * included), all but its file changes: known before it freezes.
 */
export async function containerFacts(container: RunningContainer, criuOptions: ContainerFacts['criuOptions'], withRootfs: boolean): Promise<ContainerFacts> {
  const { id, state, record, spec } = container;
  return {
    engine: 'freezedry',
    id,
    createdAt: record?.createdAt,
    rootfs: {
      path: record?.lowerDir ?? (withRootfs ? undefined : state.rootfs),
      fingerprint: withRootfs ? undefined : await rootfsFingerprint(record?.lowerDir ?? state.rootfs),
      included: withRootfs,
    },
    net: record?.net ?? networkNamespaceOf(spec)?.path !== undefined,
    network: container.network,
    args: record?.args ?? [],
    criuOptions,
    rootfsChanges: { changed: 0, deleted: 0 },
  };
}

/**
 * Writes what a restore needs beside CRIU's images into `dir` (the container frozen):
 * rootfs-diff.tar and deleted.files, spec.dump, and `facts` with the changes counted, which it returns.
 */
export async function writeContainerFiles(container: RunningContainer, dir: string, known: ContainerFacts): Promise<ContainerFacts> {
  const { id, state, record, spec } = container;
  const changesRoot = record ? bundleOf(id).upper : state.rootfs;
  const changes = await rootfsChanges(container, known.rootfs.included);
  await writeRootfsDiff(changesRoot, changes, dir);
  await writeFile(path.join(dir, SPEC_DUMP), `${JSON.stringify(spec, null, 2)}\n`);
  const facts: ContainerFacts = { ...known, rootfsChanges: { changed: changes.changed.length, deleted: changes.deleted.length } };
  await writeFile(path.join(dir, CONTAINER_FACTS), `${JSON.stringify(facts, null, 2)}\n`);
  return facts;
}

async function rootfsChanges(container: RunningContainer, whole: boolean): Promise<RootfsChanges> {
  const { id, state, record } = container;
  if (record) return upperChanges(bundleOf(id).upper, { lower: record.lowerDir, merged: bundleOf(id).rootfs });
  if (whole) return { changed: (await readdir(state.rootfs)).sort(), deleted: [] };
  return { changed: [], deleted: [] };
}

async function assembleArchive(
  builder: ArchiveBuilder,
  session: PageSinkSession,
  dir: string,
  facts: ContainerFacts,
  stats: DumpStats | undefined,
): Promise<NonNullable<ContainerCheckpointResult['archive']>> {
  const imagesDir = path.join(dir, CHECKPOINT_DIR);
  const pagemaps = new Map(session.pagemaps().map(({ name, bytes }) => [name.slice(CHECKPOINT_PREFIX.length), bytes]));
  builder.fillReserved(session.pagesEntries());
  for (const [name, bytes] of pagemaps) builder.addBytes(`${CHECKPOINT_PREFIX}${name}`, bytes);
  await builder.addDirectory(imagesDir, new Set(), CHECKPOINT_PREFIX);
  await builder.addDirectory(dir, new Set(['dump.log']));
  const images: ImageSource = {
    names: async () => [...pagemaps.keys(), ...(await readdir(imagesDir))],
    read: async (name) => pagemaps.get(name) ?? directorySource(imagesDir).read(name),
  };
  const finished = await builder.finish({
    createdAt: new Date().toISOString(),
    command: facts.args.join(' ') || undefined,
    source: sourceHost((await criuVersionOf(dir)) ?? 'unknown'),
    summary: await summarizeCheckpoint(images),
    criuStats: stats,
    container: facts,
  });
  const { bytesIn: uncompressedBytes, bytesStored: storedBytes } = builder.writer.counters();
  return { file: finished.file, bytes: finished.bytes, uncompressedBytes, storedBytes, entries: finished.entries.length + 1 };
}

/** The CRIU version runc ran, from the first line of its dump log ("Version: 4.2 (gitid …)"). */
async function criuVersionOf(dir: string): Promise<string | undefined> {
  return /Version: (\S+)/.exec(await readLog(path.join(dir, 'dump.log')))?.[1];
}
