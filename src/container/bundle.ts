// The OCI bundles of the containers freezedry runs, one directory per container ID:
//   config.json               the OCI spec
//   rootfs/                   an overlay: the read-only image rootfs below, upper/ above
//   upper/, work/             what the container changed (whiteouts are deletions)
//   container.log             its stdout and stderr
//   netns                     its network namespace, where it has its own (network.ts)
//   freezedry-container.json  what freezedry knows of it (ContainerRecord)
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { command } from '../process/command.js';
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';
import { createNetns, removeNetns } from './network.js';
import type { OciSpec } from './spec.js';

export const DEFAULT_CONTAINERS = '/var/lib/freezedry/containers';
const RECORD = 'freezedry-container.json';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface ContainerRecord {
  id: string;
  createdAt: string;
  /** The read-only rootfs the overlay lies over. */
  lowerDir: string;
  net: boolean;
  args: string[];
  /** When it came from a checkpoint: which one. */
  restoredFrom?: string;
}

export interface Bundle {
  id: string;
  dir: string;
  rootfs: string;
  upper: string;
  logFile: string;
  /** The file its own network namespace is bound to (with a record's net). */
  netns: string;
}

export function containersRoot(): string {
  return path.resolve(process.env.FREEZEDRY_CONTAINERS ?? DEFAULT_CONTAINERS);
}

export function validateContainerId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid container ID '${String(id)}': up to 64 letters, digits, '_', '.' and '-'`, { argument: 'id', value: id });
  }
}

export function bundleOf(id: string): Bundle {
  const dir = path.join(containersRoot(), id);
  return { id, dir, rootfs: path.join(dir, 'rootfs'), upper: path.join(dir, 'upper'), logFile: path.join(dir, 'container.log'), netns: path.join(dir, 'netns') };
}

export function readRecord(id: string): ContainerRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(bundleOf(id).dir, RECORD), 'utf8')) as ContainerRecord;
  } catch {
    return undefined;
  }
}

/** Replaces a bundle's spec. */
export async function writeSpec(bundleDir: string, spec: OciSpec): Promise<void> {
  await writeFile(path.join(bundleDir, 'config.json'), `${JSON.stringify(spec, null, 2)}\n`);
}

/** A bundle's spec (config.json), freezedry's or any other runc container's. */
export function readSpec(bundleDir: string): OciSpec {
  return JSON.parse(readFileSync(path.join(bundleDir, 'config.json'), 'utf8')) as OciSpec;
}

export async function listRecords(): Promise<ContainerRecord[]> {
  const ids = await readdir(containersRoot()).catch(() => [] as string[]);
  return ids.map(readRecord).filter((r): r is ContainerRecord => r !== undefined);
}

/** Checks that a rootfs to lay the overlay over exists and is a directory. */
export async function assertRootfs(dir: string): Promise<string> {
  const resolved = path.resolve(dir);
  const info = await stat(resolved).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new FreezedryError(ErrorCode.ROOTFS_MISSING, `The rootfs ${resolved} ${info ? 'is not a directory' : 'does not exist'}`, { path: resolved });
  }
  if (/[,:]/.test(resolved)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `The rootfs path ${resolved} holds ',' or ':', which overlayfs options cannot carry`);
  }
  return resolved;
}

/**
 * Creates the bundle: its directories, the spec (root.path set to the overlay, and the network
 * namespace, with the record's net, to one made for it) and the record, with the overlay mounted. A bundle that exists already is ERR_CONTAINER_EXISTS; on any
 * failure nothing of the new one is left.
 */
export async function createBundle(record: ContainerRecord, spec: OciSpec): Promise<Bundle> {
  const bundle = bundleOf(record.id);
  await mkdir(containersRoot(), { recursive: true, mode: 0o700 });
  try {
    await mkdir(bundle.dir, { mode: 0o700 });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new FreezedryError(ErrorCode.CONTAINER_EXISTS, `A container '${record.id}' exists already (${bundle.dir}); remove it with 'freezedry container rm ${record.id}'`, { id: record.id });
    }
    throw cause;
  }
  try {
    for (const sub of ['rootfs', 'upper', 'work']) await mkdir(path.join(bundle.dir, sub));
    if (record.net) await createNetns(bundle.netns);
    const config = { ...spec, root: { ...spec.root, path: bundle.rootfs }, linux: linuxSection(spec.linux, record.id, record.net ? bundle.netns : undefined) };
    await writeSpec(bundle.dir, config);
    await writeFile(path.join(bundle.dir, RECORD), `${JSON.stringify(record, null, 2)}\n`);
    await command('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${record.lowerDir},upperdir=${bundle.upper},workdir=${path.join(bundle.dir, 'work')}`, bundle.rootfs]);
  } catch (cause) {
    await removeBundle(record.id);
    throw new FreezedryError(ErrorCode.RUNC_FAILED, `Could not prepare the bundle of '${record.id}': ${(cause as Error).message}`, { cause });
  }
  return bundle;
}

/** Unmounts the overlay and removes the bundle directory (nothing if there is none). */
export async function removeBundle(id: string): Promise<void> {
  const bundle = bundleOf(id);
  if (!existsSync(bundle.dir)) return;
  if (await isMountPoint(bundle.rootfs)) await command('umount', ['-l', bundle.rootfs]);
  await removeNetns(bundle.netns);
  await rm(bundle.dir, { recursive: true, force: true });
}

async function isMountPoint(dir: string): Promise<boolean> {
  const result = await command('mountpoint', ['-q', dir], { reject: false });
  return result.exitCode === 0;
}

/** The spec's linux section: the network namespace at `netns` (as the spec has it, without), and a cgroup. */
function linuxSection(linux: unknown, id: string, netns: string | undefined): Record<string, unknown> {
  const spec = (linux ?? {}) as { namespaces?: { type: string; path?: string }[] };
  const others = (spec.namespaces ?? []).filter((ns) => ns.type !== 'network');
  return {
    ...spec,
    namespaces: netns ? [...others, { type: 'network', path: netns }] : spec.namespaces ?? [],
    // A cgroup of its own per bundle: a restored copy never lands in the cgroup of a paused
    // original (same ID, another runc root, on one machine), which would freeze it too.
    cgroupsPath: `/freezedry/${id}-${randomBytes(3).toString('hex')}`,
  };
}
