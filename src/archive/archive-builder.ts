// Builds an archive file: entries go through the native writer (compressed on its threads),
// into FILE.partial, renamed over FILE only once complete, so no half-written archive is ever
// found under the final name.
import { constants, openSync, closeSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';
import { prepareDumpDir } from '../images/images-dir.js';
import { availableMemoryBytes } from '../images/scratch-dir.js';
import { native, type NativeArchiveEntry, type NativeArchiveWriter } from '../native/binding.js';
import { writeError } from '../native/native-errors.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, MANIFEST_NAME, type Manifest } from './manifest.js';
import { tarHeader } from './tar-header.js';

export interface ArchiveOptions {
  /** zstd level: 1 (default) is fast; up to 19 is smaller; negative is faster still. */
  level?: number;
  /** Compression threads (default: the number of CPUs). */
  threads?: number;
  /** Replace an existing file (default: refuse). */
  overwrite?: boolean;
  /** fsync before the rename (default true). */
  sync?: boolean;
  /**
   * 'full' (default): every frame compressed, the smallest archive. 'adaptive': a frame the
   * writer reaches while every compressor is busy is stored uncompressed, so a durable archive
   * takes no longer than writing the same bytes raw, and is as small as the compressors
   * manage meanwhile (on a fast disk and few cores, much of it may be stored).
   */
  compression?: ArchiveCompression;
  /**
   * Bytes of uncompressed stream that may wait in memory for the compressors (default: a
   * sixteenth of the memory available, at most 1 GiB). While CRIU dumps, the process stays
   * frozen until its pages are handed over; more here lets a large dump hand them over sooner,
   * at the cost of that much memory (at 4-8 GiB, a quarter of free memory took 1.5-3 s off the
   * freeze on a 2-core VM). At least 16 MiB.
   */
  bufferBytes?: number;
}

export const ARCHIVE_COMPRESSIONS = ['full', 'adaptive'] as const;
export type ArchiveCompression = (typeof ARCHIVE_COMPRESSIONS)[number];

// zstd's own range of levels (ZSTD_minCLevel() to ZSTD_maxCLevel()).
const MIN_LEVEL = -131072;
const MAX_LEVEL = 22;
const MIN_BUFFER = 16 << 20;

/** Checked before anything is frozen or written. */
export function validateArchiveOptions(options: ArchiveOptions): void {
  const { level, compression, bufferBytes } = options;
  if (level !== undefined && !(Number.isInteger(level) && level >= MIN_LEVEL && level <= MAX_LEVEL)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `the zstd level must be a whole number from ${MIN_LEVEL} to ${MAX_LEVEL}, not ${String(level)}`);
  }
  if (compression !== undefined && !ARCHIVE_COMPRESSIONS.includes(compression)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `compression must be ${ARCHIVE_COMPRESSIONS.join(' or ')}, not '${String(compression)}'`);
  }
  if (bufferBytes !== undefined && !(Number.isSafeInteger(bufferBytes) && bufferBytes >= MIN_BUFFER)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `the compression buffer must be a whole number of bytes, at least ${MIN_BUFFER} (16 MiB), not ${String(bufferBytes)}`);
  }
}

// 128 KiB: a lazy restore's fault on a page not yet decompressed waits for its whole frame.
// Random 4 KiB reads from a 2.7 GiB Node service's archive: a median 0.046 ms against 0.123 ms
// with 256 KiB frames and 0.34-0.45 ms with 1 MiB (earlier); the archive is 0.03% larger than
// with 256 KiB, reads it through as fast, and dumps of 512 MiB took no longer (A/B, 5 each).
// 64 KiB: 0.026 ms, but 0.11% larger and ~10% slower to read through.
const FRAME_SIZE = 128 << 10;

/**
 * How much uncompressed stream may wait for compression before the producer (CRIU, through
 * the page sink, while the process is frozen) is held back: enough for CRIU to hand a few
 * hundred MiB over at memory speed and the compression to end after the freeze, never more than
 * a sixteenth of the memory available.
 */
function maxPendingBytes(): number {
  return Math.max(24 << 20, Math.min(1 << 30, Math.floor(availableMemoryBytes() / 16)));
}

export class ArchiveBuilder {
  readonly file: string;
  readonly partial: string;
  readonly writer: NativeArchiveWriter;
  private readonly fd: number;
  private readonly sync: boolean;
  private readonly reserved: { index: number; name: string; size: number }[] = [];

  private constructor(file: string, fd: number, writer: NativeArchiveWriter, sync: boolean) {
    this.file = file;
    this.partial = `${file}.partial`;
    this.fd = fd;
    this.writer = writer;
    this.sync = sync;
  }

  static async create(file: string, options: ArchiveOptions = {}): Promise<ArchiveBuilder> {
    validateArchiveOptions(options);
    const target = path.resolve(file);
    if (!options.overwrite && (await stat(target).catch(() => undefined))) {
      throw new FreezedryError(ErrorCode.ARCHIVE_EXISTS, `${target} already exists (pass overwrite to replace it)`, { path: target });
    }
    const partial = `${target}.partial`;
    let fd: number;
    try {
      fd = openSync(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    } catch (cause) {
      throw writeError(cause, partial);
    }
    const level = options.level ?? 1;
    const threads = options.threads ?? Math.max(1, os.availableParallelism());
    const sync = options.sync ?? true;
    const adaptive = options.compression === 'adaptive';
    const writer = new (native().ArchiveWriter)(fd, {
      level,
      frameSize: FRAME_SIZE,
      threads,
      maxPendingBytes: options.bufferBytes ?? maxPendingBytes(),
      // Synced, its bytes go to the disk as they are written, not all at the final fsync.
      durable: sync,
      // Adaptive needs the writer to move at the disk's pace, or it outruns every compressor
      // into the page cache and stores everything; a full one is paced by its compressors.
      paced: sync && adaptive,
      adaptive,
    });
    return new ArchiveBuilder(target, fd, writer, sync);
  }

  async addFile(name: string, file: string): Promise<NativeArchiveEntry> {
    const { size } = await stat(file);
    try {
      return await this.writer.appendFile(name, tarHeader(name, size), file);
    } catch (cause) {
      throw writeError(cause, this.partial);
    }
  }

  addBytes(name: string, bytes: Uint8Array): NativeArchiveEntry {
    try {
      this.writer.beginEntry(name, tarHeader(name, bytes.length));
      this.writer.write(bytes);
      return this.writer.endEntry();
    } catch (cause) {
      throw writeError(cause, this.partial);
    }
  }

  /** Adds every file of a directory (sorted), except those named in `skip`, each named prefix + its name. */
  async addDirectory(dir: string, skip: Set<string> = new Set(), prefix = ''): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      if (skip.has(name) || name === MANIFEST_NAME) continue;
      if ((await stat(path.join(dir, name))).isFile()) await this.addFile(`${prefix}${name}`, path.join(dir, name));
    }
  }

  /** Headers reserved while the page sink streamed an entry of unknown size. */
  fillReserved(entries: { index: number; name: string; size: number }[]): void {
    for (const entry of entries) {
      this.writer.setReservedHeader(entry.index, tarHeader(entry.name, entry.size));
      this.reserved.push(entry);
    }
  }

  /** Adds the manifest (listing every entry so far), finishes, and renames into place. */
  async finish(manifest: Omit<Manifest, 'entries' | 'format' | 'version'>): Promise<{ file: string; bytes: number; entries: NativeArchiveEntry[] }> {
    const entries = this.writer.entries();
    const full: Manifest = {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      ...manifest,
      entries: entries.map(({ name, size, checksum }) => ({ name, size, checksum })),
    };
    this.addBytes(MANIFEST_NAME, Buffer.from(`${JSON.stringify(full, null, 2)}\n`));
    let bytes: number;
    try {
      bytes = await this.writer.finish(this.sync);
    } catch (cause) {
      throw writeError(cause, this.partial);
    } finally {
      closeSync(this.fd);
    }
    await rename(this.partial, this.file);
    return { file: this.file, bytes, entries };
  }

  /** Gives up: removes the partial file. */
  async abandon(): Promise<void> {
    try {
      closeSync(this.fd);
    } catch {
      // already closed by finish
    }
    await rm(this.partial, { force: true });
  }
}


/**
 * Where a dump goes: into an archive (its builder, and a scratch directory named after
 * `scratchPrefix` for what is not streamed), or into the new or empty `imagesDir`. On failure
 * nothing of it is left.
 */
export async function openDumpTarget(
  target: { archive?: string; archiveOptions?: ArchiveOptions; imagesDir?: string },
  scratchPrefix: string,
): Promise<{ builder?: ArchiveBuilder; dir: string }> {
  const builder = target.archive ? await ArchiveBuilder.create(target.archive, target.archiveOptions) : undefined;
  try {
    if (builder) return { builder, dir: await mkdtemp(path.join(os.tmpdir(), scratchPrefix)) };
    const dir = path.resolve(target.imagesDir as string);
    await prepareDumpDir(dir);
    return { dir };
  } catch (error) {
    await builder?.abandon();
    throw error;
  }
}
