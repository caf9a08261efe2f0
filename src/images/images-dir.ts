// Image directories: preparing one for a dump, checking one before a restore.
import { constants, openSync, closeSync, readdirSync, statSync, type Stats } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, FreezedryError } from '../errors.js';

// A log left by an earlier failed dump does not make a directory "used".
const LEFT_BY_FAILED_DUMP = new Set(['dump.log']);

/** Creates the directory if needed; refuses one that already holds anything. */
export async function prepareDumpDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = (await readdir(dir)).filter((name) => !LEFT_BY_FAILED_DUMP.has(name));
  if (entries.length > 0) {
    throw new FreezedryError(
      ErrorCode.IMAGES_DIR_NOT_EMPTY,
      `Images directory ${dir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); ` +
        'choose an empty or new directory, so no earlier checkpoint is overwritten',
      { path: dir },
    );
  }
}

/**
 * After a failed dump or restore: removes the partial images, keeps the log that explains the
 * failure (`keep` may lie in a subdirectory, as a container checkpoint's checkpoint/dump.log).
 */
export async function removePartialImages(dir: string, keep: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const entry = path.join(dir, name);
    if (entry === keep) continue;
    if (keep.startsWith(`${entry}/`)) await removePartialImages(entry, keep);
    else await rm(entry, { recursive: true, force: true });
  }
}

export async function assertImagesPresent(dir: string): Promise<void> {
  // Synchronous, as small image reads are (image-file.ts: readSmallFile).
  let info: Stats | undefined;
  try {
    info = statSync(dir);
  } catch {
    // missing, or a path through a file (ENOTDIR), or unreadable: no images there either way
  }
  if (!info?.isDirectory()) {
    throw new FreezedryError(ErrorCode.IMAGES_MISSING, `Images directory ${dir} does not exist`, { path: dir });
  }
  const names = new Set(readdirSync(dir));
  const missing = ['inventory.img', 'pstree.img'].filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw new FreezedryError(
      ErrorCode.IMAGES_MISSING,
      `${dir} holds no complete checkpoint: ${missing.join(' and ')} missing`,
      { path: dir, missing },
    );
  }
}

/** An O_PATH-free directory fd that CRIU opens again through /proc/<our pid>/fd/N. */
export function openDirFd(dir: string): number {
  return openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}

export function closeFd(fd: number | undefined): void {
  if (fd !== undefined) closeSync(fd);
}
