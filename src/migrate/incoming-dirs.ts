// A destination keeps what arrives for one migration in a directory of its own: the pre-copied
// pages (up to the tree's size) and the images. An agent removes it when the migration ends,
// but one that is killed cannot: the next agent removes those whose owner has ended, named in
// the owner file each holds (pid and start time: pids are reused).
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readStat } from '../process/proc.js';

const PREFIX = 'freezedry-incoming-';
const OWNER = 'owner';

/** A new directory for one migration in `parent`, with this process as its owner. */
export async function newIncomingDir(parent = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(parent, PREFIX));
  await writeFile(path.join(dir, OWNER), `${ownerOf(process.pid)}\n`, { mode: 0o600 });
  return dir;
}

/**
 * Removes the migration directories in `parent` whose owner has ended; returns them. A
 * directory without an owner file (still being made, or left by an older agent), or that is
 * not a directory of ours (a symlink, another user's), is left alone.
 */
export async function removeAbandonedIncomingDirs(parent = os.tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(parent, name);
    const info = await lstat(dir).catch(() => undefined);
    if (!info?.isDirectory() || info.uid !== process.getuid?.()) continue;
    const owner = (await readFile(path.join(dir, OWNER), 'utf8').catch(() => undefined))?.trim();
    const pid = Number(owner?.split(' ')[0]);
    if (!owner || !Number.isSafeInteger(pid) || pid <= 0 || ownerOf(pid) === owner) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** "PID START-TICKS", or just the pid of a process that is gone. */
function ownerOf(pid: number): string {
  const stat = readStat(pid);
  return stat && stat.state !== 'Z' ? `${pid} ${stat.startTicks}` : String(pid);
}
