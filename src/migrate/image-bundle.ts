// The non-memory images of a frozen tree travel as one message: a list of { name, size } and
// the files' bytes back to back. They are small (tens of files, ~100 KB) and on the critical
// path of the freeze, so they are read and written whole, in parallel (a large bundle is
// received file by file, see receiveImages).
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, FreezedryError } from '../errors.js';
import type { Message, MessageChannel } from './message-channel.js';

/** The largest bundle received whole in memory. */
const IN_MEMORY_BYTES = 64 << 20;

export interface BundledFile {
  name: string;
  size: number;
}

export async function bundleImages(dir: string): Promise<{ files: BundledFile[]; bytes: Buffer }> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  const contents = await Promise.all(names.map((name) => readFile(path.join(dir, name))));
  return { files: names.map((name, i) => ({ name, size: (contents[i] as Buffer).length })), bytes: Buffer.concat(contents) };
}

/**
 * Receives a bundle offered by `offer` ({ files, size }) into `dir`; only plain file names are
 * accepted (nothing outside `dir`). A bundle is small as a rule and arrives whole in memory; one
 * larger than a message may bring (pages CRIU did not leave to be pulled) is written to its
 * files as it arrives, rather than refused.
 */
export async function receiveImages(channel: MessageChannel, offer: Message, dir: string): Promise<void> {
  const list = Array.isArray(offer.files) ? (offer.files as BundledFile[]) : [];
  const valid = list.every((f) => typeof f?.name === 'string' && /^[\w.+-]+$/.test(f.name) && f.name !== '.' && f.name !== '..' && Number.isSafeInteger(f.size) && f.size >= 0);
  if (!valid || new Set(list.map((f) => f.name)).size !== list.length || list.reduce((sum, f) => sum + f.size, 0) !== offer.size) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, 'malformed images from the source');
  }
  await mkdir(dir, { recursive: true });
  if (offer.size <= IN_MEMORY_BYTES) {
    await unbundle(list, await channel.receiveBytes(offer.size), dir);
  } else {
    for (const file of list) await channel.receiveFile(file.size, path.join(dir, file.name));
  }
}

async function unbundle(list: BundledFile[], bytes: Buffer, dir: string): Promise<void> {
  let at = 0;
  await Promise.all(
    list.map((file) => {
      const part = bytes.subarray(at, at + file.size);
      at += file.size;
      return writeFile(path.join(dir, file.name), part, { flag: 'wx', mode: 0o600 });
    }),
  );
}
