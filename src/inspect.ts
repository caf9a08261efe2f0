// inspect(): what a checkpoint (archive or image directory) holds, without restoring it.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Archive } from './archive/archive-reader.js';
import type { SourceHost } from './archive/manifest.js';
import { ErrorCode, FreezedryError } from './errors.js';
import { assertImagesPresent } from './images/images-dir.js';
import { summarizeCheckpoint, type CheckpointSummary } from './images/image-summary.js';
import { directorySource } from './images/image-source.js';
import { readDumpStats, type DumpStats } from './images/stats.js';

export interface InspectReport extends CheckpointSummary {
  kind: 'archive' | 'directory';
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
  const archive = await Archive.open(resolved);
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
      ...manifest.summary,
      sizes: { imagesBytes, archiveBytes: archive.fileSize, compressionRatio: archive.fileSize / imagesBytes },
    };
  } finally {
    archive.close();
  }
}
