// The directory where our CRIU keeps its kernel-probe cache lives in world-writable /dev/shm:
// whatever another user left there must be replaced by a directory only root can write.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNDAT_CACHE_DIR, prepareKerndatCache } from '../../src/criu/kerndat-cache.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'kerndat-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function expectRootsOwn(dir: string): void {
  const stat = lstatSync(dir);
  expect(stat.isDirectory()).toBe(true);
  expect(stat.uid).toBe(0);
  expect(stat.mode & 0o777).toBe(0o700);
}

describe.runIf(process.getuid?.() === 0)('the kerndat cache directory', () => {
  it('is created, root-only, where there is none', () => {
    const dir = path.join(base, 'missing');
    prepareKerndatCache(dir);
    expectRootsOwn(dir);
  });

  it("replaces another user's directory, and what it held", () => {
    const dir = path.join(base, 'others');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(path.join(dir, 'criu.kdat'), 'forged');
    chownSync(dir, 1000, 1000);
    prepareKerndatCache(dir);
    expectRootsOwn(dir);
    expect(existsSync(path.join(dir, 'criu.kdat'))).toBe(false);
  });

  it('replaces a directory others can write to', () => {
    const dir = path.join(base, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    prepareKerndatCache(dir);
    expectRootsOwn(dir);
  });

  it('replaces a symbolic link without touching where it points', () => {
    const target = path.join(base, 'elsewhere');
    mkdirSync(target);
    writeFileSync(path.join(target, 'keep'), 'x');
    const dir = path.join(base, 'link');
    symlinkSync(target, dir);
    prepareKerndatCache(dir);
    expectRootsOwn(dir);
    expect(existsSync(path.join(target, 'keep'))).toBe(true);
  });

  it('keeps a cache that is already root-only', () => {
    const dir = path.join(base, 'kept');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(path.join(dir, 'criu.kdat'), 'cache');
    prepareKerndatCache(dir);
    expect(existsSync(path.join(dir, 'criu.kdat'))).toBe(true);
  });
});

// scripts/provision.sh builds CRIU with this directory compiled in; the two must agree.
it('is the directory provisioning builds CRIU with', () => {
  const script = readFileSync(new URL('../../scripts/provision.sh', import.meta.url), 'utf8');
  expect(/^kerndat_dir=(\S+)$/m.exec(script)?.[1]).toBe(KERNDAT_CACHE_DIR);
});
