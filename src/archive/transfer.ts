// export (image directory → archive) and import (archive → image directory).
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { version } from '../criu/features.js';
import { assertImagesPresent } from '../images/images-dir.js';
import { summarizeCheckpoint } from '../images/image-summary.js';
import { directorySource } from '../images/image-source.js';
import { readDumpStats } from '../images/stats.js';
import { ArchiveBuilder, type ArchiveOptions } from './archive-builder.js';
import { Archive } from './archive-reader.js';
import { sourceHost } from './manifest.js';

export interface TransferProgress {
  bytes: number;
  totalBytes: number;
}

export interface ExportOptions extends ArchiveOptions {
  onProgress?: (progress: TransferProgress) => void;
  criu?: string;
}

export async function exportArchive(imagesDir: string, file: string, options: ExportOptions = {}): Promise<{ file: string; bytes: number; uncompressedBytes: number; storedBytes: number }> {
  const dir = path.resolve(imagesDir);
  await assertImagesPresent(dir);
  const criu = await version({ criu: options.criu });
  const source = directorySource(dir);
  // Sizes from stat: reading the files for their length read every pages image whole.
  const sizes = await Promise.all((await source.names()).map(async (name) => stat(path.join(dir, name)).then((info) => (info.isFile() ? info.size : 0))));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const builder = await ArchiveBuilder.create(file, options);
  const timer = options.onProgress && setInterval(() => options.onProgress?.({ bytes: builder.writer.counters().bytesIn, totalBytes }), 100);
  try {
    await builder.addDirectory(dir);
    const finished = await builder.finish({
      createdAt: new Date().toISOString(),
      source: sourceHost(criu.text),
      summary: await summarizeCheckpoint(source),
      criuStats: await readDumpStats(dir),
    });
    const { bytesIn: uncompressedBytes, bytesStored: storedBytes } = builder.writer.counters();
    return { file: finished.file, bytes: finished.bytes, uncompressedBytes, storedBytes };
  } catch (error) {
    await builder.abandon();
    throw error;
  } finally {
    if (timer) clearInterval(timer);
  }
}

export async function importArchive(file: string, imagesDir: string, options: { onProgress?: (progress: TransferProgress) => void } = {}): Promise<{ imagesDir: string; entries: number }> {
  const archive = await Archive.open(file);
  try {
    const dir = path.resolve(imagesDir);
    await archive.extract(dir, options.onProgress && ((bytes, totalBytes) => options.onProgress?.({ bytes, totalBytes })));
    return { imagesDir: dir, entries: archive.entries.length };
  } finally {
    archive.close();
  }
}
