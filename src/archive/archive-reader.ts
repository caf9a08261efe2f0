// Reading an archive: the entry index comes from walking tar headers (each starts a frame, so
// only the frames holding headers are decompressed); entries are checked against the
// manifest's checksums as they are read.
import { closeSync, constants, ftruncateSync, openSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ErrorCode, FreezedryError } from '../errors.js';
import type { ImageSource } from '../images/image-source.js';
import { native, type NativeArchiveReader } from '../native/binding.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, MANIFEST_NAME, type Manifest } from './manifest.js';
import { parseTarHeader } from './tar-header.js';
import { archiveReadError } from '../native/native-errors.js';

export interface ArchiveEntry {
  name: string;
  size: number;
  /** Offset of the entry's data in the uncompressed tar stream. */
  dataOffset: number;
}

const BLOCK = 512;
/**
 * Entries up to this size are read on the calling thread: at most a frame or two to decompress
 * (~0.3 ms), where a trip through libuv's pool for each of the few dozen small images of a
 * restore cost ~5 ms before CRIU could start.
 */
const SMALL_ENTRY = 64 << 10;
/** Asked when used, not when loaded: the CLI's start-up snapshot loads this module at build time. */
const extractConcurrency = () => Math.max(2, Math.min(4, availableParallelism()));
// Image directories are flat: an entry name is a plain file name, never a path; a container
// checkpoint keeps CRIU's images in one directory, checkpoint/.
const SAFE_NAME = /^(?:checkpoint\/)?[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export class Archive {
  readonly file: string;
  readonly entries: ArchiveEntry[];
  readonly manifest: Manifest;
  private readonly reader: NativeArchiveReader;
  private readonly fd: number;

  private constructor(file: string, fd: number, reader: NativeArchiveReader, entries: ArchiveEntry[], manifest: Manifest) {
    this.file = file;
    this.fd = fd;
    this.reader = reader;
    this.entries = entries;
    this.manifest = manifest;
  }

  get fileSize(): number {
    return this.reader.fileSize;
  }

  get streamSize(): number {
    return this.reader.streamSize;
  }

  static async open(file: string): Promise<Archive> {
    const resolved = path.resolve(file);
    let fd: number;
    try {
      fd = openSync(resolved, constants.O_RDONLY);
    } catch (cause) {
      throw new FreezedryError(ErrorCode.IMAGES_MISSING, `Cannot open archive ${resolved}: ${(cause as Error).message}`, { cause, path: resolved });
    }
    try {
      const reader = new (native().ArchiveReader)(fd);
      const entries = walkHeaders(reader, resolved);
      const manifestEntry = entries.find((entry) => entry.name === MANIFEST_NAME);
      if (!manifestEntry) {
        throw new FreezedryError(ErrorCode.ARCHIVE_FORMAT, `${resolved} has no ${MANIFEST_NAME}: not a freezedry archive`, { path: resolved });
      }
      const manifest = parseManifest(await readRange(reader, manifestEntry, resolved), resolved);
      return new Archive(resolved, fd, reader, entries, manifest);
    } catch (error) {
      closeSync(fd);
      throw archiveReadError(error, resolved, []);
    }
  }

  entry(name: string): ArchiveEntry | undefined {
    return this.entries.find((entry) => entry.name === name);
  }

  /** An entry's bytes, checked against the manifest. */
  async read(name: string): Promise<Buffer | undefined> {
    const entry = this.entry(name);
    if (!entry) return undefined;
    const bytes = await readRange(this.reader, entry, this.file, this.entries);
    this.verify(name, native().xxh3(bytes));
    return bytes;
  }

  /** Reads [offset, offset + length) of an entry's data (for page ranges). */
  async readPart(name: string, offset: number, length: number): Promise<Buffer> {
    const entry = this.entry(name);
    if (!entry || offset + length > entry.size) throw new RangeError(`${name}: ${offset}+${length} is outside the entry`);
    try {
      return await this.reader.read(entry.dataOffset + offset, length);
    } catch (error) {
      throw archiveReadError(error, this.file, this.entries);
    }
  }

  /**
   * Writes every entry into `dir` (created; must be empty), checking each checksum. On any
   * failure the files written are removed again.
   */
  async extract(
    dir: string,
    onProgress?: (bytes: number, total: number) => void,
    sparse?: Map<string, [number, number][]>,
    prefix = '',
  ): Promise<void> {
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) {
      throw new FreezedryError(ErrorCode.IMAGES_DIR_NOT_EMPTY, `${dir} is not empty`, { path: dir });
    }
    // With a prefix, only the entries under it, named without it (a container's CRIU images).
    const entries = this.entries.filter((entry) => entry.name.startsWith(prefix) && !entry.name.slice(prefix.length).includes('/'));
    const total = entries.reduce((sum, entry) => sum + entry.size, 0);
    let done = 0;
    try {
      // A few entries at a time, each on its own thread of the native reader: a tree of several
      // processes has one large pages image per process.
      const queue = [...entries];
      const unpackNext = async (): Promise<void> => {
        for (let entry = queue.shift(); entry; entry = queue.shift()) {
          const name = entry.name.slice(prefix.length);
          await this.writeEntry(entry, path.join(dir, name), sparse?.get(name));
          done += entry.size;
          onProgress?.(done, total);
        }
      };
      const results = await Promise.allSettled(Array.from({ length: Math.min(extractConcurrency(), entries.length) }, unpackNext));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    } catch (error) {
      for (const entry of entries) await rm(path.join(dir, entry.name.slice(prefix.length)), { force: true });
      throw error;
    }
  }

  /** Writes one entry to a file (created; must not exist), checking its checksum. */
  async extractEntry(name: string, target: string): Promise<void> {
    const entry = this.entry(name);
    if (!entry) throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${this.file}: ${name} is missing`, { entry: name });
    await this.writeEntry(entry, target);
  }

  /**
   * Writes an entry to a new file: whole and checked against the manifest, or only the given
   * runs (the rest stays a hole; its frames' own checksums still guard what is read later).
   */
  private async writeEntry(entry: ArchiveEntry, target: string, runs?: [number, number][]): Promise<void> {
    const fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      if (runs) {
        ftruncateSync(fd, entry.size);
        for (const [offset, length] of runs) await this.reader.copyTo(entry.dataOffset + offset, length, fd, offset);
      } else {
        const checksum = entry.size <= SMALL_ENTRY ? writeWhole(fd, this.reader.readSync(entry.dataOffset, entry.size)) : await this.reader.copyTo(entry.dataOffset, entry.size, fd);
        if (entry.name !== MANIFEST_NAME) this.verify(entry.name, checksum);
      }
    } catch (error) {
      throw archiveReadError(error, this.file, this.entries, target);
    } finally {
      closeSync(fd);
    }
  }

  /** Checks every entry's checksum without writing anything. */
  async verifyAll(): Promise<void> {
    const sink = openSync('/dev/null', constants.O_WRONLY);
    try {
      for (const entry of this.entries) {
        if (entry.name === MANIFEST_NAME) continue;
        let checksum: string;
        try {
          checksum = await this.reader.copyTo(entry.dataOffset, entry.size, sink);
        } catch (error) {
          throw archiveReadError(error, this.file, this.entries);
        }
        this.verify(entry.name, checksum);
      }
    } finally {
      closeSync(sink);
    }
  }

  /**
   * The uffd server's view of the given pages entries: where each one's bytes start. A lazy
   * restore's fill decompresses ahead only on an idle core (`readAheadWhenIdle`): the tree runs
   * meanwhile (1 GiB Node service, two A/B runs of 12 and 16 turns: it answered in 51-52 ms
   * instead of 55-58).
   */
  pageSource(images: string[], prefix = '', readAheadWhenIdle = false): { archive: NativeArchiveReader; starts: number[]; readAheadWhenIdle: boolean } {
    return {
      archive: this.reader,
      readAheadWhenIdle,
      starts: images.map((name) => {
        const entry = this.entry(`${prefix}${name}`);
        if (!entry) throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${this.file}: ${name} is missing`, { entry: name });
        return entry.dataOffset;
      }),
    };
  }

  /** The CRIU images (those under `prefix`, named without it). */
  imageSource(prefix = ''): ImageSource {
    return {
      names: async () => this.entries.filter((entry) => entry.name.startsWith(prefix)).map((entry) => entry.name.slice(prefix.length)),
      read: (name) => this.read(`${prefix}${name}`),
    };
  }

  close(): void {
    closeSync(this.fd);
  }

  private verify(name: string, checksum: string): void {
    const expected = this.manifest.entries.find((entry) => entry.name === name);
    if (!expected) {
      throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${this.file}: entry ${name} is not listed in the manifest`, { entry: name });
    }
    if (expected.checksum !== checksum) {
      throw new FreezedryError(
        ErrorCode.ARCHIVE_CORRUPT,
        `${this.file}: entry ${name} is corrupt (checksum ${checksum}, manifest says ${expected.checksum})`,
        { entry: name, path: this.file },
      );
    }
  }
}

function walkHeaders(reader: NativeArchiveReader, file: string): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  let offset = 0;
  while (offset + BLOCK <= reader.streamSize) {
    const header = parseTarHeader(reader.readSync(offset, BLOCK));
    if (header.empty) break;
    if (!header.checksumValid) {
      throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${file}: damaged tar header at stream offset ${offset}`, { path: file });
    }
    if (!SAFE_NAME.test(header.name) || header.type !== 'File') {
      throw new FreezedryError(
        ErrorCode.ARCHIVE_UNSAFE_PATH,
        `${file}: refusing entry '${header.name}' (${header.type}): archive entries must be plain files named without a path`,
        { path: file, entry: header.name },
      );
    }
    entries.push({ name: header.name, size: header.size, dataOffset: offset + BLOCK });
    offset += BLOCK + Math.ceil(header.size / BLOCK) * BLOCK;
  }
  return entries;
}

/** Writes the bytes to the file and returns their checksum, as the reader's copyTo does. */
function writeWhole(fd: number, bytes: Buffer): string {
  writeFileSync(fd, bytes);
  return native().xxh3(bytes);
}

async function readRange(reader: NativeArchiveReader, entry: ArchiveEntry, file: string, all: ArchiveEntry[] = [entry]): Promise<Buffer> {
  try {
    return entry.size <= SMALL_ENTRY ? reader.readSync(entry.dataOffset, entry.size) : await reader.read(entry.dataOffset, entry.size);
  } catch (error) {
    throw archiveReadError(error, file, all);
  }
}

export function parseManifest(bytes: Buffer, file: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch (cause) {
    throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${file}: ${MANIFEST_NAME} is not valid JSON`, { cause, path: file });
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${file}: ${MANIFEST_NAME} is not a JSON object`, { path: file });
  }
  if (manifest.format !== ARCHIVE_FORMAT) {
    throw new FreezedryError(ErrorCode.ARCHIVE_FORMAT, `${file}: not a freezedry archive (format '${String(manifest.format)}')`, { path: file });
  }
  if (manifest.version !== ARCHIVE_VERSION) {
    throw new FreezedryError(
      ErrorCode.ARCHIVE_VERSION,
      `${file}: archive format version ${manifest.version} is not supported (this freezedry reads version ${ARCHIVE_VERSION})`,
      { path: file, version: manifest.version },
    );
  }
  return manifest;
}

