import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  prepareDumpDir
} from "./chunk-Y4SUBUAX.js";
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  MANIFEST_NAME,
  tarHeader
} from "./chunk-PTYGFORS.js";
import {
  native,
  writeError
} from "./chunk-GUIDA3SS.js";
import {
  ErrorCode,
  FreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/archive/archive-builder.js
import { constants, openSync, closeSync } from "node:fs";
import { mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
var FRAME_SIZE = 4 << 20;
var ArchiveBuilder = class _ArchiveBuilder {
  file;
  partial;
  writer;
  fd;
  sync;
  reserved = [];
  constructor(file, fd, writer, sync) {
    this.file = file;
    this.partial = `${file}.partial`;
    this.fd = fd;
    this.writer = writer;
    this.sync = sync;
  }
  static async create(file, options = {}) {
    const target = path.resolve(file);
    if (!options.overwrite && await stat(target).catch(() => void 0)) {
      throw new FreezedryError(ErrorCode.ARCHIVE_EXISTS, `${target} already exists (pass overwrite to replace it)`, { path: target });
    }
    const partial = `${target}.partial`;
    let fd;
    try {
      fd = openSync(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 384);
    } catch (cause) {
      throw writeError(cause, partial);
    }
    const level = options.level ?? 1;
    const threads = options.threads ?? Math.max(1, (await import("node:os")).availableParallelism());
    const writer = new (native()).ArchiveWriter(fd, { level, frameSize: FRAME_SIZE, threads });
    return new _ArchiveBuilder(target, fd, writer, options.sync ?? true);
  }
  async addFile(name, file) {
    const { size } = await stat(file);
    try {
      return await this.writer.appendFile(name, tarHeader(name, size), file);
    } catch (cause) {
      throw writeError(cause, this.partial);
    }
  }
  addBytes(name, bytes) {
    try {
      this.writer.beginEntry(name, tarHeader(name, bytes.length));
      this.writer.write(bytes);
      return this.writer.endEntry();
    } catch (cause) {
      throw writeError(cause, this.partial);
    }
  }
  /** Adds every file of a directory (sorted), except those named in `skip`, each named prefix + its name. */
  async addDirectory(dir, skip = /* @__PURE__ */ new Set(), prefix = "") {
    for (const name of (await readdir(dir)).sort()) {
      if (skip.has(name) || name === MANIFEST_NAME)
        continue;
      if ((await stat(path.join(dir, name))).isFile())
        await this.addFile(`${prefix}${name}`, path.join(dir, name));
    }
  }
  /** Headers reserved while the page sink streamed an entry of unknown size. */
  fillReserved(entries) {
    for (const entry of entries) {
      this.writer.setReservedHeader(entry.index, tarHeader(entry.name, entry.size));
      this.reserved.push(entry);
    }
  }
  /** Adds the manifest (listing every entry so far), finishes, and renames into place. */
  async finish(manifest) {
    const entries = this.writer.entries();
    const full = {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      ...manifest,
      entries: entries.map(({ name, size, checksum }) => ({ name, size, checksum }))
    };
    this.addBytes(MANIFEST_NAME, Buffer.from(`${JSON.stringify(full, null, 2)}
`));
    let bytes;
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
  async abandon() {
    try {
      closeSync(this.fd);
    } catch {
    }
    await rm(this.partial, { force: true });
  }
};
async function openDumpTarget(target, scratchPrefix) {
  const builder = target.archive ? await ArchiveBuilder.create(target.archive, target.archiveOptions) : void 0;
  try {
    if (builder)
      return { builder, dir: await mkdtemp(path.join(os.tmpdir(), scratchPrefix)) };
    const dir = path.resolve(target.imagesDir);
    await prepareDumpDir(dir);
    return { dir };
  } catch (error) {
    await builder?.abandon();
    throw error;
  }
}

export {
  ArchiveBuilder,
  openDumpTarget
};
