// A container's filesystem changes, in the form Podman and CRI-O archive them:
// rootfs-diff.tar (changed and added paths, relative to /) and deleted.files (a JSON array of
// absolute paths). Read from the overlay's upper dir, where a whiteout (a 0/0 character
// device) marks a deletion; applied to a new rootfs by deleting, then unpacking.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { create, extract } from 'tar';
import { ErrorCode, FreezedryError } from '../errors.js';

export const ROOTFS_DIFF = 'rootfs-diff.tar';
export const DELETED_FILES = 'deleted.files';

export interface RootfsChanges {
  /** Paths (relative to /) of files, links and directories the container added or changed. */
  changed: string[];
  /** Absolute paths it deleted. */
  deleted: string[];
}

/**
 * What the upper dir of an overlay records: every path below it, whiteouts apart. With the
 * overlay's `lower` and mounted `merged` dirs, what an opaque directory hides is a deletion
 * too (a directory removed and made again: overlayfs marks it opaque with an xattr instead
 * of a whiteout per entry), seen as a lower entry the merged view no longer shows.
 */
export async function upperChanges(upper: string, overlay?: { lower: string; merged: string }): Promise<RootfsChanges> {
  const changes: RootfsChanges = { changed: [], deleted: [] };
  const exists = (file: string) => lstat(file).then(() => true, () => false);
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(path.join(upper, relative))).sort();
    for (const name of names) {
      const rel = relative ? `${relative}/${name}` : name;
      const info = await lstat(path.join(upper, rel));
      if (info.isCharacterDevice() && info.rdev === 0) {
        changes.deleted.push(`/${rel}`);
        continue;
      }
      changes.changed.push(rel);
      if (info.isDirectory()) await walk(rel);
    }
    if (!overlay) return;
    const below = await readdir(path.join(overlay.lower, relative)).catch(() => [] as string[]);
    for (const name of below) {
      const rel = relative ? `${relative}/${name}` : name;
      if (!names.includes(name) && !(await exists(path.join(overlay.merged, rel)))) changes.deleted.push(`/${rel}`);
    }
  };
  await walk('');
  changes.deleted.sort();
  return changes;
}

/** Writes rootfs-diff.tar (only the changed top-level paths, whiteouts left out) and deleted.files. */
export async function writeRootfsDiff(upper: string, changes: RootfsChanges, dir: string): Promise<void> {
  const topLevel = [...new Set(changes.changed.map((rel) => rel.split('/')[0] as string))];
  const file = path.join(dir, ROOTFS_DIFF);
  if (topLevel.length === 0) {
    // Nothing changed: an empty archive (its end, two zero blocks); node-tar makes none from no paths.
    await writeFile(file, Buffer.alloc(1024));
  } else {
    await create(
      {
        file,
        cwd: upper,
        portable: false,
        filter: (_rel, info) => !('isCharacterDevice' in info && info.isCharacterDevice() && info.rdev === 0),
      },
      topLevel,
    );
  }
  await writeFile(path.join(dir, DELETED_FILES), `${JSON.stringify(changes.deleted)}\n`);
}

/** Applies a diff to a mounted rootfs: deletions first (they may be re-created), then the tar. */
export async function applyRootfsDiff(rootfs: string, diff: { tarFile?: string; deleted: unknown }): Promise<void> {
  if (!Array.isArray(diff.deleted) || !diff.deleted.every((p) => typeof p === 'string')) {
    throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${DELETED_FILES} is not a JSON array of paths`);
  }
  for (const deleted of diff.deleted as string[]) await rm(await insideRoot(rootfs, deleted), { recursive: true, force: true });
  if (diff.tarFile && !(await isEmptyTar(diff.tarFile))) {
    // node-tar refuses absolute paths and '..', and never writes through a symlink it made.
    await extract({ file: diff.tarFile, cwd: rootfs, preserveOwner: true, strict: true });
  }
}

/** An archive of nothing: only zero blocks (its end marker, padded), which node-tar's strict mode refuses. */
async function isEmptyTar(file: string): Promise<boolean> {
  const { size } = await stat(file);
  if (size > 10240) return false;
  return (await readFile(file)).every((byte) => byte === 0);
}

/** A path of the container's filesystem, resolved below its rootfs and reached through no symlink. */
async function insideRoot(rootfs: string, containerPath: string): Promise<string> {
  const resolved = path.resolve(rootfs, `.${path.posix.resolve('/', containerPath)}`);
  const unsafe = () =>
    new FreezedryError(ErrorCode.ARCHIVE_UNSAFE_PATH, `${DELETED_FILES} names '${containerPath}', which leads outside the container's filesystem`);
  if (resolved === rootfs || !resolved.startsWith(`${rootfs}/`)) throw unsafe();
  let parent = path.dirname(resolved);
  while (parent !== rootfs) {
    if ((await lstat(parent).catch(() => undefined))?.isSymbolicLink()) throw unsafe();
    parent = path.dirname(parent);
  }
  return resolved;
}

/**
 * A fingerprint of a rootfs tree: every path with its type, mode, size and link target. A
 * restore checks it, so that a checkpoint is never restored over another image's rootfs.
 */
export async function rootfsFingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, relative))).sort()) {
      const rel = `${relative}/${name}`;
      const info = await lstat(path.join(dir, rel));
      const link = info.isSymbolicLink() ? await readlink(path.join(dir, rel)) : '';
      hash.update(`${rel}\0${info.mode}\0${info.isDirectory() ? 0 : info.size}\0${link}\n`);
      if (info.isDirectory()) await walk(rel);
    }
  };
  await walk('');
  return `sha256:${hash.digest('hex')}`;
}
