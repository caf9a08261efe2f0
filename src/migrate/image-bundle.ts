// The non-memory images of a frozen tree travel as one message: a list of { name, size } and
// the files' bytes back to back. They are small (tens of files, ~100 KB) and on the critical
// path of the freeze, so they are read and written whole, and synchronously: through the
// threadpool each file costs four round trips (open, stat, read, close), which took 5 ms for
// thirty files while a container was frozen, against well under one this way. A large bundle
// is received file by file (see receiveImages).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, FreezedryError } from '../errors.js';
import type { Message, MessageChannel } from './message-channel.js';

/** The largest bundle received whole in memory. */
const IN_MEMORY_BYTES = 64 << 20;

export interface BundledFile {
  name: string;
  size: number;
}

/** The plain files of `dir` (of those named in `only`, when given) as one bundle. */
export function bundleFiles(dir: string, only?: readonly string[]): { files: BundledFile[]; bytes: Buffer } {
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && (only === undefined || only.includes(e.name)))
    .map((e) => e.name);
  const contents = names.map((name) => readFileSync(path.join(dir, name)));
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
  mkdirSync(dir, { recursive: true });
  if (offer.size <= IN_MEMORY_BYTES) {
    unbundle(list, await channel.receiveBytes(offer.size), dir);
  } else {
    for (const file of list) await channel.receiveFile(file.size, path.join(dir, file.name));
  }
}

function unbundle(list: BundledFile[], bytes: Buffer, dir: string): void {
  let at = 0;
  for (const file of list) {
    writeFileSync(path.join(dir, file.name), bytes.subarray(at, at + file.size), { flag: 'wx', mode: 0o600 });
    at += file.size;
  }
}
