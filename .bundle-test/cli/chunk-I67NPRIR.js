import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  CHECKPOINT_DIR,
  describeContainerDir,
  unpackForeign
} from "./chunk-ZYG2T3UV.js";
import {
  summarizeCheckpoint
} from "./chunk-4LSSWRP7.js";
import {
  directorySource,
  readDumpStats
} from "./chunk-F3SPZOCF.js";
import {
  assertImagesPresent
} from "./chunk-Y4SUBUAX.js";
import {
  Archive
} from "./chunk-PTYGFORS.js";
import {
  ErrorCode,
  FreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/inspect.js
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
async function inspect(target) {
  const resolved = path.resolve(target);
  const info = await stat(resolved).catch(() => void 0);
  if (!info)
    throw new FreezedryError(ErrorCode.IMAGES_MISSING, `${resolved} does not exist`, { path: resolved });
  if (info.isDirectory()) {
    if ((await stat(path.join(resolved, CHECKPOINT_DIR)).catch(() => void 0))?.isDirectory()) {
      const report = await inspect(path.join(resolved, CHECKPOINT_DIR));
      const criuStats = await readDumpStats(resolved) ?? report.criuStats;
      return { ...report, path: resolved, criuStats, container: await describeContainerDir(resolved) };
    }
    await assertImagesPresent(resolved);
    const names = await readdir(resolved);
    let imagesBytes = 0;
    for (const name of names)
      imagesBytes += (await stat(path.join(resolved, name))).size;
    return {
      kind: "directory",
      path: resolved,
      ...await summarizeCheckpoint(directorySource(resolved)),
      criuStats: await readDumpStats(resolved),
      sizes: { imagesBytes }
    };
  }
  let archive;
  try {
    archive = await Archive.open(resolved);
  } catch (error) {
    const code = error.code;
    if (code !== ErrorCode.ARCHIVE_FORMAT && code !== ErrorCode.ARCHIVE_TRUNCATED)
      throw error;
    return inspectForeign(resolved, info.size).catch((foreign) => {
      throw code === ErrorCode.ARCHIVE_TRUNCATED ? error : foreign;
    });
  }
  try {
    const { manifest } = archive;
    const imagesBytes = manifest.entries.reduce((sum, entry) => sum + entry.size, 0);
    return {
      kind: "archive",
      path: resolved,
      createdAt: manifest.createdAt,
      pid: manifest.pid,
      command: manifest.command,
      source: manifest.source,
      criuStats: manifest.criuStats,
      container: manifest.container && {
        engine: "freezedry",
        id: manifest.container.id,
        createdAt: manifest.container.createdAt,
        rootfsDiffBytes: archive.entry("rootfs-diff.tar")?.size ?? 0,
        deletedFiles: manifest.container.rootfsChanges.deleted
      },
      ...manifest.summary,
      sizes: { imagesBytes, archiveBytes: archive.fileSize, compressionRatio: archive.fileSize / imagesBytes }
    };
  } finally {
    archive.close();
  }
}
async function inspectForeign(file, archiveBytes) {
  const scratch = await mkdtemp(path.join(os.tmpdir(), "freezedry-inspect-"));
  try {
    await unpackForeign(file, scratch);
    if (!await stat(path.join(scratch, CHECKPOINT_DIR)).catch(() => void 0)) {
      throw new FreezedryError(ErrorCode.ARCHIVE_FORMAT, `${file} is neither a freezedry archive nor a container checkpoint (no ${CHECKPOINT_DIR}/)`, { path: file });
    }
    const report = await inspect(scratch);
    const imagesBytes = report.sizes.imagesBytes;
    return { ...report, kind: "archive", path: file, sizes: { imagesBytes, archiveBytes, compressionRatio: archiveBytes / imagesBytes } };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export {
  inspect
};
