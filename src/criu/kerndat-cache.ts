// CRIU probes the kernel on every run (iptables, vDSO, CPU features: about 60 ms here) unless it
// finds its cache, which it keeps only on a tmpfs. /run is not one on every machine, so the CRIU
// that scripts/provision.sh builds keeps it in this directory of /dev/shm. /dev/shm is writable
// by anyone: the directory must be root's own, or another user could hand CRIU a forged cache.
import { lstatSync, mkdirSync, rmSync } from 'node:fs';

export const KERNDAT_CACHE_DIR = '/dev/shm/freezedry-criu';

const prepared = new Set<string>();

function isRootsOwn(dir: string): boolean {
  try {
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === 0 && (stat.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/** Makes the cache directory root's own (mode 0700), replacing anything else found there. */
export function prepareKerndatCache(dir = KERNDAT_CACHE_DIR): void {
  if (prepared.has(dir) || process.getuid?.() !== 0) return;
  for (let attempt = 0; attempt < 2 && !isRootsOwn(dir); attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { mode: 0o700 });
    } catch {
      // no /dev/shm, or a race with whoever put something there: CRIU then probes each run
    }
  }
  prepared.add(dir);
}
