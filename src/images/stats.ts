// CRIU's statistics images (stats-dump, stats-restore). Times are in microseconds.
import path from 'node:path';
import { decodeMessage, messageType, schemaRoot } from '../protobuf.js';
import { ImageMagic, readImage } from './image-file.js';

const root = schemaRoot();
root.add(
  messageType('DumpStats', [
    ['freezingTime', 1, 'uint32'],
    ['frozenTime', 2, 'uint32'],
    ['memdumpTime', 3, 'uint32'],
    ['memwriteTime', 4, 'uint32'],
    ['pagesScanned', 5, 'uint64'],
    ['pagesSkippedParent', 6, 'uint64'],
    ['pagesWritten', 7, 'uint64'],
    ['irmapResolve', 8, 'uint32'],
    ['pagesLazy', 9, 'uint64'],
    ['pagePipes', 10, 'uint64'],
    ['pagePipeBufs', 11, 'uint64'],
    ['shpagesScanned', 12, 'uint64'],
    ['shpagesSkippedParent', 13, 'uint64'],
    ['shpagesWritten', 14, 'uint64'],
  ]),
);
root.add(
  messageType('RestoreStats', [
    ['pagesCompared', 1, 'uint64'],
    ['pagesSkippedCow', 2, 'uint64'],
    ['forkingTime', 3, 'uint32'],
    ['restoreTime', 4, 'uint32'],
    ['pagesRestored', 5, 'uint64'],
  ]),
);
root.add(messageType('StatsEntry', [['dump', 1, 'DumpStats'], ['restore', 2, 'RestoreStats']]));
root.resolveAll();
const StatsEntry = root.lookupType('StatsEntry');

/** What CRIU measured during a dump. Times in milliseconds. */
export interface DumpStats {
  freezingTimeMs: number;
  frozenTimeMs: number;
  memdumpTimeMs: number;
  memwriteTimeMs: number;
  pagesScanned: number;
  pagesSkippedParent: number;
  pagesWritten: number;
  pagesLazy: number;
}

/** What CRIU measured during a restore. Times in milliseconds. */
export interface RestoreStats {
  forkingTimeMs: number;
  restoreTimeMs: number;
  pagesRestored: number;
  pagesCompared: number;
  pagesSkippedCow: number;
}

interface RawStats {
  dump?: Record<string, number>;
  restore?: Record<string, number>;
}

async function readStats(file: string): Promise<RawStats | undefined> {
  try {
    const image = await readImage(file, ImageMagic.STATS);
    return image.entries[0] ? decodeMessage<RawStats>(StatsEntry, image.entries[0]) : undefined;
  } catch {
    return undefined; // statistics are informative; a missing file never fails an operation
  }
}

const ms = (us: number | undefined) => (us ?? 0) / 1000;

export async function readDumpStats(dir: string): Promise<DumpStats | undefined> {
  const d = (await readStats(path.join(dir, 'stats-dump')))?.dump;
  if (!d) return undefined;
  return {
    freezingTimeMs: ms(d.freezingTime),
    frozenTimeMs: ms(d.frozenTime),
    memdumpTimeMs: ms(d.memdumpTime),
    memwriteTimeMs: ms(d.memwriteTime),
    pagesScanned: d.pagesScanned ?? 0,
    pagesSkippedParent: d.pagesSkippedParent ?? 0,
    pagesWritten: d.pagesWritten ?? 0,
    pagesLazy: d.pagesLazy ?? 0,
  };
}

export async function readRestoreStats(dir: string): Promise<RestoreStats | undefined> {
  const r = (await readStats(path.join(dir, 'stats-restore')))?.restore;
  if (!r) return undefined;
  return {
    forkingTimeMs: ms(r.forkingTime),
    restoreTimeMs: ms(r.restoreTime),
    pagesRestored: r.pagesRestored ?? 0,
    pagesCompared: r.pagesCompared ?? 0,
    pagesSkippedCow: r.pagesSkippedCow ?? 0,
  };
}
