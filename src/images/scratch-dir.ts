// Where an archive is unpacked for CRIU to restore from. On a disk, writing every process's
// pages (gigabytes for a pre-fork tree, whose children CRIU dumps in full) costs more than the
// restore itself; in memory (tmpfs) it is a copy. So memory, when the unpacked images take at
// most a quarter of what is available (they live only until the restore ends), else the disk.
import { statfsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const MEMORY_DIR = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;

/** MemAvailable, in bytes. */
export function availableMemoryBytes(): number {
  const kib = Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  return kib * 1024;
}

function tmpfsFreeBytes(dir: string): number {
  try {
    const fs = statfsSync(dir);
    return fs.type === TMPFS_MAGIC ? fs.bavail * fs.bsize : 0;
  } catch {
    return 0;
  }
}

/** A new scratch directory for `bytes` of unpacked images, in memory if they fit comfortably. */
export async function scratchDirFor(bytes: number, prefix: string): Promise<string> {
  const inMemory = bytes <= availableMemoryBytes() / 4 && bytes <= tmpfsFreeBytes(MEMORY_DIR) / 2;
  return mkdtemp(path.join(inMemory ? MEMORY_DIR : os.tmpdir(), prefix));
}
