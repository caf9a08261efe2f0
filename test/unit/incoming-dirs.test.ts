// A destination's per-migration directories: those whose agent has ended are removed by the
// next agent; those of a live agent, without an owner, or not plain directories are kept.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newIncomingDir, removeAbandonedIncomingDirs } from '../../src/migrate/incoming-dirs.js';

const parent = mkdtempSync(path.join(os.tmpdir(), 'incoming-dirs-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

describe('incoming migration directories', () => {
  it("removes those whose agent has ended, and nothing else", async () => {
    const live = await newIncomingDir(parent); // this process: alive
    const ended = path.join(parent, 'freezedry-incoming-ended');
    mkdirSync(ended);
    const gone = spawnSync('true').pid as number; // a process that has exited and been reaped
    writeFileSync(path.join(ended, 'owner'), `${gone} 12345\n`);
    writeFileSync(path.join(ended, 'precopied.pages'), 'pages');
    const reused = path.join(parent, 'freezedry-incoming-reused'); // our pid, another start time
    mkdirSync(reused);
    writeFileSync(path.join(reused, 'owner'), `${process.pid} 1\n`);
    const ownerless = path.join(parent, 'freezedry-incoming-older');
    mkdirSync(ownerless);
    const target = path.join(parent, 'elsewhere');
    mkdirSync(target);
    writeFileSync(path.join(target, 'owner'), `${gone} 12345\n`);
    symlinkSync(target, path.join(parent, 'freezedry-incoming-link'));
    const other = path.join(parent, 'not-ours');
    mkdirSync(other);
    writeFileSync(path.join(other, 'owner'), `${gone} 12345\n`);

    const removed = await removeAbandonedIncomingDirs(parent);
    expect(removed.sort()).toEqual([ended, reused].sort());
    expect(existsSync(ended)).toBe(false);
    expect(existsSync(reused)).toBe(false);
    for (const kept of [live, ownerless, target, path.join(target, 'owner'), path.join(parent, 'freezedry-incoming-link'), other]) {
      expect(existsSync(kept)).toBe(true);
    }
    expect(await removeAbandonedIncomingDirs(path.join(parent, 'missing'))).toEqual([]);
  });
});
