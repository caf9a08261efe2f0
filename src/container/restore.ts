// restoreContainer(): a container checkpoint (a directory, an archive or the store's) back into a
// running runc container, under its own ID or a new one beside the original: a new bundle
// whose overlay lies over the same rootfs (checked by fingerprint) with the checkpoint's file
// changes applied, then `runc restore`. Lazily, runc's CRIU takes its memory from freezedry's
// uffd server (lazy-pages.socket in runc's work path), fed from the images or the archive.
import { closeSync, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Archive } from '../archive/archive-reader.js';
import { ErrorCode, FreezedryError, ValidationError, abortError } from '../errors.js';
import { assertImagesPresent, removePartialImages } from '../images/images-dir.js';
import { planLazyRestore, type LazyPlan } from '../pages/lazy-plan.js';
import { directorySource } from '../images/image-source.js';
import { rootDirectoryMode } from '../images/image-summary.js';
import { directoryLazySource, sharesNoPages, type RemotePages } from '../pages/lazy-source.js';
import { lazyPagesAvailable, version } from '../criu/features.js';
import { assertCompatible } from '../archive/compatibility.js';
import { locateCriu } from '../criu/locate.js';
import { LazyPageServer, type LazyFillStats, type LazySource } from '../pages/lazy-server.js';
import { assertRoot } from '../process/privileges.js';
import { assertRootRunning, watchRestoredRoot } from '../process/restored-root.js';
import { findStored } from '../store.js';
import { assertRootfs, containersRoot, createBundle, readRecord, readSpec, removeBundle, validateContainerId, writeSpec, type Bundle } from './bundle.js';
import { foreignFacts, provideEngineMounts, unpackForeign } from './foreign.js';
import { CHECKPOINT_DIR, CHECKPOINT_PREFIX, CONTAINER_FACTS, SPEC_DUMP, readFacts, type ContainerFacts } from './layout.js';
import { assertIdFree, startInBundle } from './lifecycle.js';
import { buildNetwork, type BuiltNetwork } from './network.js';
import { DELETED_FILES, ROOTFS_DIFF, applyRootfsDiff, rootfsFingerprint } from './rootfs-diff.js';
import { Runc, withCriuErrors, type RuncOptions } from './runc.js';
import { command } from '../process/command.js';
import { networkNamespaceOf, type OciSpec } from './spec.js';

export interface ContainerRestoreOptions extends RuncOptions {
  /** From this checkpoint directory… */
  imagesDir?: string;
  /** …or this archive… */
  archive?: string;
  /** …or the store's checkpoint of this name. */
  name?: string;
  storeRoot?: string;
  /** The new container's ID (default: the checkpointed one's). */
  id?: string;
  /** The rootfs to lay the overlay over (default: the one the container ran over). */
  rootfs?: string;
  /** Run at once and fill memory behind it (userfaultfd); `lazy.fill` settles when all is in. */
  lazy?: boolean;
  /** The bridge here for the outer ends of the container's veths (default: the one each was on). */
  bridge?: string;
  /** With lazy and a directory: pull the memory from a migration source instead (its page server). */
  remotePages?: RemotePages;
  /** A bundle prepared for it already (prepareBundle; its ID wins). */
  prepared?: PreparedBundle;
  /** Restore over a rootfs whose fingerprint differs from the checkpointed one, or from an archive made on a host this one does not match (CPU features, CRIU version). */
  force?: boolean;
  signal?: AbortSignal;
}

export interface ContainerRestoreResult {
  id: string;
  pid: number;
  bundle: string;
  durationMs: number;
  lazy?: { fill: Promise<LazyFillStats>; stats(): LazyFillStats };
}

interface Source {
  facts: ContainerFacts;
  spec: OciSpec;
  deleted: unknown;
  /** rootfs-diff.tar as a file (the archive's is unpacked into scratch). */
  diffTar?: string;
  /** The checkpoint's directory (an export's, unpacked). */
  dir?: string;
  /** CRIU's images: a directory holding all, or an archive to unpack or serve lazily. */
  imagesDir?: string;
  archive?: Archive;
}

export async function restoreContainer(options: ContainerRestoreOptions): Promise<ContainerRestoreResult> {
  const started = performance.now();
  const sources = [options?.imagesDir, options?.archive, options?.name].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'restoreContainer needs exactly one of imagesDir, archive and name');
  }
  if (options.id !== undefined) validateContainerId(options.id);
  if (options.signal?.aborted) throw abortError(options.signal);
  assertRoot('restore a container');
  const runc = await Runc.open(options);
  // Asked while the checkpoint is opened: an archive from another host is checked against this one.
  const criuHere = options.force ? undefined : version({ criu: options.criu });
  criuHere?.catch(() => {}); // awaited below, for an archive
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'freezedry-ctr-restore-'));
  const restoreLog = path.join(scratch, 'work', 'restore.log');
  let source: Source | undefined;
  // A lazy restore's fill owns the archive and the scratch directory once it runs.
  let ownedByFill = false;
  let failed = false;
  try {
    const archiveFile = options.name !== undefined ? await findStored(options.name, options.storeRoot) : options.archive;
    source = archiveFile ? await openArchiveOrExport(archiveFile, scratch) : await openDirectory(path.resolve(options.imagesDir as string));
    if (source.archive && criuHere) assertCompatible(source.archive.manifest.source, await criuHere, source.archive.file);
    const id = options.prepared?.bundle.id ?? options.id ?? source.facts.id;
    const { bundle, network } =
      options.prepared ?? (await prepareBundle(runc, { ...options, id, facts: source.facts, spec: source.spec, restoredFrom: archiveFile ?? options.imagesDir }));
    try {
      await applyRootfsDiff(bundle.rootfs, { tarFile: source.diffTar, deleted: source.deleted });
      if (source.facts.engine !== 'freezedry') await writeSpec(bundle.dir, await provideEngineMounts(readSpec(bundle.dir), source.dir as string, bundle.dir));
      // CRIU checks the root's mode against the one it dumped (an engine's image root may differ from the rootfs given).
      const rootMode = await rootDirectoryMode(source.archive ? source.archive.imageSource(CHECKPOINT_PREFIX) : directorySource(source.imagesDir as string));
      if (rootMode !== undefined && ((await stat(bundle.rootfs)).mode & 0o7777) !== (rootMode & 0o7777)) await chmod(bundle.rootfs, rootMode & 0o7777);
    } catch (error) {
      await removeBundle(id);
      throw error;
    }

    let imagesDir = source.imagesDir;
    let plan: LazyPlan | undefined;
    let lazySource: LazySource | undefined;
    const pageFiles: number[] = [];
    if (source.archive) {
      imagesDir = path.join(scratch, CHECKPOINT_DIR);
      // A lone process shares no page: even a full restore then takes its pages straight from
      // the archive through userfaultfd, none unpacked first, and returns once all are in.
      const throughFaults =
        options.lazy || ((await sharesNoPages(source.archive.imageSource(CHECKPOINT_PREFIX))) && (await lazyPagesAvailable(locateCriu(options.criu))));
      if (throughFaults) {
        plan = await planLazyRestore(source.archive.imageSource(CHECKPOINT_PREFIX));
        lazySource = source.archive.pageSource(plan.images, CHECKPOINT_PREFIX, options.lazy === true);
      }
      await source.archive.extract(imagesDir, undefined, plan?.eager, CHECKPOINT_PREFIX);
    } else if (options.lazy) {
      ({ plan, source: lazySource } = await directoryLazySource(imagesDir as string, options.remotePages, pageFiles));
    }
    const workDir = path.dirname(restoreLog);
    const restoring = runcRestore(runc, {
      id,
      bundleDir: bundle.dir,
      imagesDir: imagesDir as string,
      workDir,
      logFile: bundle.logFile,
      criuOptions: source.facts.criuOptions,
      // A namespace runc and CRIU make come back empty, loopback down.
      raiseLoopback: !source.facts.net && networkNamespaceOf(source.spec) !== undefined,
      lazy: plan && lazySource ? { plan, source: lazySource } : undefined,
      signal: options.signal,
    });
    const restored = await restoring.catch((error: unknown) => {
      pageFiles.forEach((fd) => closeSync(fd));
      throw error;
    });
    await network?.plug().catch(async (cause: unknown) => {
      restored.server?.close();
      restored.root.release();
      pageFiles.forEach((fd) => closeSync(fd));
      await runc.destroy(id).catch(() => {});
      await removeBundle(id);
      throw new FreezedryError(ErrorCode.RUNC_FAILED, `Restored '${id}' but could not plug its network into its bridge: ${(cause as Error).message}`, { cause });
    });

    let lazy: ContainerRestoreResult['lazy'];
    if (restored.server) {
      const server = restored.server;
      const archive = source.archive;
      ownedByFill = true;
      const fill = server.complete
        .then(async (stats) => {
          await assertRootRunning(restored.root, 'the lazy fill');
          return stats;
        })
        .finally(() => {
          restored.root.release();
          pageFiles.forEach((fd) => closeSync(fd));
          archive?.close();
          void rm(scratch, { recursive: true, force: true });
        });
      fill.catch(() => {});
      lazy = { fill, stats: () => server.stats() };
    }
    if (lazy && !options.lazy) {
      await lazy.fill.catch(async (error: unknown) => {
        await runc.destroy(id).catch(() => {});
        await removeBundle(id);
        throw error;
      });
      lazy = undefined;
    }
    return { id, pid: restored.root.pid, bundle: bundle.dir, durationMs: performance.now() - started, lazy };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    if (!ownedByFill) {
      source?.archive?.close();
      // After a failure only CRIU's log stays, which the error points to.
      if (failed && existsSync(restoreLog)) await removePartialImages(scratch, restoreLog);
      else await rm(scratch, { recursive: true, force: true });
    }
  }
}

/** A bundle made ready before the checkpoint it will hold arrives (a migration's destination). */
export interface PreparedBundle {
  bundle: Bundle;
  /** Plugs the rebuilt veths into their bridges, once the container's sockets are back. */
  network?: BuiltNetwork;
}

/**
 * The new bundle for a checkpoint's container: its ID free (a stale bundle of the original
 * replaced), the rootfs chosen and checked, the overlay mounted, its network namespace rebuilt
 * with the veths not yet on their bridges. On failure nothing of it is left.
 */
export async function prepareBundle(
  runc: Runc,
  request: Pick<ContainerRestoreOptions, 'rootfs' | 'force' | 'bridge'> & { id: string; facts: ContainerFacts; spec: OciSpec; restoredFrom?: string },
): Promise<PreparedBundle> {
  const { id, facts } = request;
  validateContainerId(id);
  await assertIdFree(runc, id);
  await replaceStaleBundle(id, facts);
  const lowerDir = await chooseRootfs(request, facts);
  const bundle = await createBundle({ id, createdAt: new Date().toISOString(), lowerDir, net: facts.net, args: facts.args, restoredFrom: request.restoredFrom }, request.spec);
  try {
    return { bundle, network: facts.network ? await buildNetwork(bundle.netns, facts.network, request.bridge) : undefined };
  } catch (error) {
    await removeBundle(id);
    throw error;
  }
}

export interface RuncRestoreRequest {
  id: string;
  bundleDir: string;
  imagesDir: string;
  workDir: string;
  logFile: string;
  criuOptions: ContainerFacts['criuOptions'];
  lazy?: { plan: LazyPlan; source: LazySource };
  raiseLoopback?: boolean;
  signal?: AbortSignal;
}

/** `runc restore --detach`, the uffd server first when lazy; the root is checked to run. */
export async function runcRestore(runc: Runc, request: RuncRestoreRequest) {
  const { id, criuOptions } = request;
  await mkdir(request.workDir, { recursive: true });
  const server = request.lazy ? LazyPageServer.start(request.workDir, request.lazy.plan, request.lazy.source) : undefined;
  const pidFile = path.join(request.workDir, 'init.pid');
  const args = [
    'restore',
    '--detach',
    '--bundle', request.bundleDir,
    '--image-path', request.imagesDir,
    '--work-path', request.workDir,
    ...(criuOptions.tcpEstablished ? ['--tcp-established'] : []),
    ...(criuOptions.fileLocks ? ['--file-locks'] : []),
    ...(server ? ['--lazy-pages'] : []),
    // Its init's pid, without asking runc again (runc state) once it runs.
    '--pid-file', pidFile,
    id,
  ];
  try {
    await startInBundle(runc, { id, logFile: request.logFile }, args, request.signal);
  } catch (error) {
    server?.close();
    throw await withCriuErrors(error, path.join(request.workDir, 'restore.log'), ErrorCode.CRIU_RESTORE_FAILED);
  }
  const written = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  const pid = Number.isSafeInteger(written) && written > 0 ? written : (await runc.existing(id)).pid;
  if (request.raiseLoopback) {
    await command('nsenter', ['-t', String(pid), '-n', 'ip', 'link', 'set', 'lo', 'up']).catch(async (cause: unknown) => {
      server?.close();
      await runc.destroy(id).catch(() => {});
      await removeBundle(id);
      throw new FreezedryError(ErrorCode.RUNC_FAILED, `Could not bring up loopback in '${id}': ${(cause as Error).message}`, { cause });
    });
  }
  const root = watchRestoredRoot(pid, false);
  server?.attach(pid);
  if (!server) {
    try {
      await assertRootRunning(root, 'its restore');
    } finally {
      root.release();
    }
  }
  return { root, server };
}

/** A freezedry archive, or another engine's export (one compressed tar), unpacked into scratch. */
async function openArchiveOrExport(file: string, scratch: string): Promise<Source> {
  try {
    return await openArchive(file, scratch);
  } catch (error) {
    // No seek table or no manifest: perhaps another engine's export (one compressed tar).
    const code = (error as FreezedryError).code;
    if (code !== ErrorCode.ARCHIVE_FORMAT && code !== ErrorCode.ARCHIVE_TRUNCATED) throw error;
    const dir = path.join(scratch, 'export');
    await mkdir(dir);
    await unpackForeign(file, dir).catch((foreign: unknown) => {
      throw code === ErrorCode.ARCHIVE_TRUNCATED ? error : foreign;
    });
    return openDirectory(dir);
  }
}

async function openDirectory(dir: string): Promise<Source> {
  const facts = (await readFacts(dir)) ?? (existsSync(path.join(dir, SPEC_DUMP)) ? await foreignFacts(dir) : undefined);
  if (!facts) {
    throw new FreezedryError(ErrorCode.NOT_A_CONTAINER_CHECKPOINT, `${dir} holds no container checkpoint (no ${CONTAINER_FACTS} nor ${SPEC_DUMP})`, { path: dir });
  }
  const imagesDir = path.join(dir, CHECKPOINT_DIR);
  await assertImagesPresent(imagesDir);
  const spec = JSON.parse(await readFile(path.join(dir, SPEC_DUMP), 'utf8')) as OciSpec;
  const deleted = JSON.parse(await readFile(path.join(dir, DELETED_FILES), 'utf8').catch(() => '[]')) as unknown;
  const diffTar = path.join(dir, ROOTFS_DIFF);
  return { facts, spec, deleted, dir, imagesDir, diffTar: existsSync(diffTar) ? diffTar : undefined };
}

async function openArchive(file: string, scratch: string): Promise<Source> {
  const archive = await Archive.open(file);
  try {
    const facts = archive.manifest.container;
    if (!facts) {
      throw new FreezedryError(ErrorCode.NOT_A_CONTAINER_CHECKPOINT, `${archive.file} is a process checkpoint: restore it with 'freezedry restore'`, { path: archive.file });
    }
    const spec = JSON.parse(((await archive.read(SPEC_DUMP)) ?? Buffer.from('null')).toString('utf8')) as OciSpec | null;
    if (!spec) throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${archive.file} has no ${SPEC_DUMP}`, { path: archive.file });
    const deleted = JSON.parse(((await archive.read(DELETED_FILES)) ?? Buffer.from('[]')).toString('utf8')) as unknown;
    let diffTar: string | undefined;
    if (archive.entry(ROOTFS_DIFF)) {
      diffTar = path.join(scratch, ROOTFS_DIFF);
      await archive.extractEntry(ROOTFS_DIFF, diffTar);
    }
    return { facts, spec, deleted, diffTar, archive };
  } catch (error) {
    archive.close();
    throw error;
  }
}

/** The rootfs to restore over, checked against the checkpoint's fingerprint. */
async function chooseRootfs(options: Pick<ContainerRestoreOptions, 'rootfs' | 'force'>, facts: ContainerFacts): Promise<string> {
  if (options.rootfs === undefined && facts.rootfs.included) {
    // The checkpoint carries the whole rootfs: it goes over an empty lower layer.
    const empty = path.join(containersRoot(), '.empty-rootfs');
    await mkdir(empty, { recursive: true, mode: 0o755 });
    return empty;
  }
  const wanted = options.rootfs ?? facts.rootfs.path;
  if (wanted === undefined) {
    throw new FreezedryError(ErrorCode.ROOTFS_MISSING, 'The checkpoint names no rootfs: give one (--rootfs DIR)');
  }
  const lowerDir = await assertRootfs(wanted);
  if (facts.rootfs.fingerprint && !options.force) {
    const found = await rootfsFingerprint(lowerDir);
    if (found !== facts.rootfs.fingerprint) {
      throw new FreezedryError(
        ErrorCode.ROOTFS_MISMATCH,
        `The rootfs ${lowerDir} is not the one the container was checkpointed over (fingerprint ${found.slice(0, 19)}…, checkpoint has ${facts.rootfs.fingerprint.slice(0, 19)}…); pass force to restore over it anyway`,
        { path: lowerDir },
      );
    }
  }
  return lowerDir;
}

/**
 * A bundle of this ID that runc no longer knows is the stopped original of a checkpoint
 * restored under its own ID: the checkpoint holds all of it, so it is replaced. Any other
 * bundle of that ID is in the way.
 */
async function replaceStaleBundle(id: string, facts: ContainerFacts): Promise<void> {
  const record = readRecord(id);
  if (!record) return;
  if (record.id === facts.id && record.createdAt !== undefined && record.createdAt === facts.createdAt) {
    await removeBundle(id);
    return;
  }
  throw new FreezedryError(
    ErrorCode.CONTAINER_EXISTS,
    `A stopped container '${id}' (not the one checkpointed) still has its bundle; remove it with 'freezedry container rm ${id}' or restore under another ID`,
    { id },
  );
}
