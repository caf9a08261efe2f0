// The non-memory images of a frozen tree travel as one message: a list of { name, size } and
// the files' bytes back to back. They are small (tens of files, ~100 KB) and on the critical
// path of the freeze, so they are read and written whole, in parallel.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, FreezedryError } from '../errors.js';

export interface BundledFile {
  name: string;
  size: number;
}

export async function bundleImages(dir: string): Promise<{ files: BundledFile[]; bytes: Buffer }> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  const contents = await Promise.all(names.map((name) => readFile(path.join(dir, name))));
  return { files: names.map((name, i) => ({ name, size: (contents[i] as Buffer).length })), bytes: Buffer.concat(contents) };
}

/** Writes a bundle into `dir`; only plain file names are accepted (nothing outside `dir`). */
export async function unbundleImages(files: unknown, bytes: Buffer, dir: string): Promise<void> {
  const list = Array.isArray(files) ? (files as BundledFile[]) : [];
  const valid = list.every((f) => typeof f?.name === 'string' && /^[\w.+-]+$/.test(f.name) && f.name !== '.' && f.name !== '..' && Number.isSafeInteger(f.size) && f.size >= 0);
  if (!valid || list.reduce((sum, f) => sum + f.size, 0) !== bytes.length) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, 'malformed images from the source');
  }
  await mkdir(dir, { recursive: true });
  let at = 0;
  await Promise.all(
    list.map((file) => {
      const part = bytes.subarray(at, at + file.size);
      at += file.size;
      return writeFile(path.join(dir, file.name), part, { flag: 'wx', mode: 0o600 });
    }),
  );
}
