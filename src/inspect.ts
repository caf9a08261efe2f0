// inspect(): what a checkpoint (archive or image directory) holds, without restoring it.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeContainerDir, unpackForeign, type ContainerDescription } from './container/foreign.js';
import { CHECKPOINT_DIR } from './container/layout.js';
import { Archive } from './archive/archive-reader.js';
import type { SourceHost } from './archive/manifest.js';
import { ErrorCode, FreezedryError } from './errors.js';
import { assertImagesPresent } from './images/images-dir.js';
import { summarizeCheckpoint, type CheckpointSummary } from './images/image-summary.js';
import { directorySource } from './images/image-source.js';
import { readDumpStats, type DumpStats } from './images/stats.js';

export interface InspectReport extends CheckpointSummary {
  kind: 'archive' | 'directory';
  /** For a container checkpoint (freezedry's, Podman's or CRI-O's): the engine and container. */
  container?: ContainerDescription;
  path: string;
  createdAt?: string;
  pid?: number;
  command?: string;
  source?: SourceHost;
  criuStats?: DumpStats;
  sizes: {
    /** Bytes of all images. */
    imagesBytes: number;
    /** Bytes of the archive file. */
    archiveBytes?: number;
    /** Archive size / images size. */
    compressionRatio?: number;
  };
}

export async function inspect(target: string): Promise<InspectReport> {
  const resolved = path.resolve(target);
  const info = await stat(resolved).catch(() => undefined);
  if (!info) throw new FreezedryError(ErrorCode.IMAGES_MISSING, `${resolved} does not exist`, { path: resolved });
  if (info.isDirectory()) {
    if ((await stat(path.join(resolved, CHECKPOINT_DIR)).catch(() => undefined))?.isDirectory()) {
      // CRIU's stats-dump lies beside checkpoint/ (runc's work path), in Podman's exports too.
      const report = await inspect(path.join(resolved, CHECKPOINT_DIR));
      const criuStats = (await readDumpStats(resolved)) ?? report.criuStats;
      return { ...report, path: resolved, criuStats, container: await describeContainerDir(resolved) };
    }
    await assertImagesPresent(resolved);
    const names = await readdir(resolved);
    let imagesBytes = 0;
    for (const name of names) imagesBytes += (await stat(path.join(resolved, name))).size;
    return {
      kind: 'directory',
      path: resolved,
      ...(await summarizeCheckpoint(directorySource(resolved))),
      criuStats: await readDumpStats(resolved),
      sizes: { imagesBytes },
    };
  }
  let archive: Archive;
  try {
    archive = await Archive.open(resolved);
  } catch (error) {
    // No seek table or no manifest: perhaps another engine's checkpoint (one compressed tar).
    const code = (error as FreezedryError).code;
    if (code !== ErrorCode.ARCHIVE_FORMAT && code !== ErrorCode.ARCHIVE_TRUNCATED) throw error;
    return inspectForeign(resolved, info.size).catch((foreign: unknown) => {
      throw code === ErrorCode.ARCHIVE_TRUNCATED ? error : foreign;
    });
  }
  try {
    const { manifest } = archive;
    const imagesBytes = manifest.entries.reduce((sum, entry) => sum + entry.size, 0);
    return {
      kind: 'archive',
      path: resolved,
      createdAt: manifest.createdAt,
      pid: manifest.pid,
      command: manifest.command,
      source: manifest.source,
      criuStats: manifest.criuStats,
      container: manifest.container && {
        engine: 'freezedry',
        id: manifest.container.id,
        createdAt: manifest.container.createdAt,
        rootfsDiffBytes: archive.entry('rootfs-diff.tar')?.size ?? 0,
        deletedFiles: manifest.container.rootfsChanges.deleted,
      },
      ...manifest.summary,
      sizes: { imagesBytes, archiveBytes: archive.fileSize, compressionRatio: archive.fileSize / imagesBytes },
    };
  } finally {
    archive.close();
  }
}

/** Another engine's container checkpoint archive (Podman, CRI-O): unpacked aside, then read as a directory. */
async function inspectForeign(file: string, archiveBytes: number): Promise<InspectReport> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'freezedry-inspect-'));
  try {
    await unpackForeign(file, scratch);
    if (!(await stat(path.join(scratch, CHECKPOINT_DIR)).catch(() => undefined))) {
      throw new FreezedryError(ErrorCode.ARCHIVE_FORMAT, `${file} is neither a freezedry archive nor a container checkpoint (no ${CHECKPOINT_DIR}/)`, { path: file });
    }
    const report = await inspect(scratch);
    const imagesBytes = report.sizes.imagesBytes;
    return { ...report, kind: 'archive', path: file, sizes: { imagesBytes, archiveBytes, compressionRatio: archiveBytes / imagesBytes } };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
