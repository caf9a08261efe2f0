// Lazy restore: the tree runs at once, its memory arrives through userfaultfd, and ends up
// exactly as it was, even while the tree forks, unmaps, discards and moves memory meanwhile.
import { closeSync, copyFileSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Archive, checkpoint, restore } from '../../src/index.js';
import { readStat, waitUntilGone } from '../../src/process/proc.js';
import { run } from '../../src/run.js';
import { capabilities, canCheckpoint } from '../helpers/capabilities.js';
import { compileFixture, logText, useWorkspace, waitFor } from '../helpers/workloads.js';

const enabled = (await canCheckpoint()) && (await capabilities()).lazyPages;
if (!enabled) console.warn('SKIP lazy restore: CRIU or userfaultfd (lazy pages) unavailable here');

describe.runIf(enabled)('lazy restore', () => {
  const { dir, track } = useWorkspace();

  async function startWorkload(mib: number, name: string): Promise<{ pid: number; log: string }> {
    const binary = await compileFixture('lazy-memory');
    const log = path.join(dir(), `${name}.log`);
    const { pid } = await run([binary, String(mib)], { logFile: log });
    track(pid);
    await waitFor('the workload', () => (logText(log).includes('READY') ? true : undefined));
    return { pid, log };
  }

  async function sum(pid: number, log: string): Promise<string> {
    const count = (logText(log).match(/^SUM /gm) ?? []).length;
    process.kill(pid, 'SIGUSR1');
    return waitFor('the checksum', () => {
      const sums = logText(log).match(/^SUM (\w+)$/gm) ?? [];
      return sums.length > count ? sums[count] : undefined;
    });
  }

  it('returns as soon as the tree runs; after the fill its memory equals the original', async () => {
    const { pid, log } = await startWorkload(256, 'fill');
    const before = await sum(pid, log);
    const imagesDir = path.join(dir(), 'fill');
    await checkpoint(pid, { imagesDir });
    const restored = await restore({ imagesDir, lazy: true });
    track(restored.pid);
    expect(restored.lazy).toBeDefined();
    const stats = await restored.lazy?.fill;
    expect(stats?.pagesCopied).toBe(stats?.pagesTotal);
    expect(stats?.pagesTotal).toBeGreaterThanOrEqual((256 * 256) - 16);
    expect(await sum(restored.pid, log)).toBe(before);
  });

  it('stays correct when the tree forks, unmaps, discards and moves memory during the fill', async () => {
    const { pid, log } = await startWorkload(512, 'events');
    const imagesDir = path.join(dir(), 'events');
    await checkpoint(pid, { imagesDir });
    const restored = await restore({ imagesDir, lazy: true });
    track(restored.pid);
    process.kill(restored.pid, 'SIGUSR2'); // at once, while most pages are still missing
    const verdicts = await waitFor('both verdicts', () => {
      const text = logText(log);
      return /PARENT (OK|BAD.*)/.test(text) && /CHILD (OK|BAD.*)/.test(text) ? text : undefined;
    }, 30_000);
    expect(verdicts).toContain('PARENT OK');
    expect(verdicts).toContain('CHILD OK');
    const stats = await restored.lazy?.fill;
    expect(stats?.tasks).toBeGreaterThanOrEqual(2); // the fork's userfaultfd arrived too
  });

  it('restores lazily straight from an archive, and two restores of one archive at once both complete', async () => {
    const { pid, log } = await startWorkload(128, 'archive');
    const before = await sum(pid, log);
    const file = path.join(dir(), 'lazy.tar.zst');
    await checkpoint(pid, { archive: file });
    const [first, second] = await Promise.all([restore({ archive: file, lazy: true }), restore({ archive: file, lazy: true })]);
    track(first.pid);
    track(second.pid);
    expect(first.pid).not.toBe(second.pid);
    const [a, b] = await Promise.all([first.lazy?.fill, second.lazy?.fill]);
    expect(a?.pagesCopied).toBe(a?.pagesTotal);
    expect(b?.pagesCopied).toBe(b?.pagesTotal);
    // Both write their sums into the same log; each must match the original.
    process.kill(first.pid, 'SIGUSR1');
    process.kill(second.pid, 'SIGUSR1');
    const sums = await waitFor('two checksums', () => {
      const all = logText(log).match(/^SUM (\w+)$/gm) ?? [];
      return all.length >= 3 ? all.slice(1) : undefined;
    });
    expect(sums).toEqual([before, before]);
  });

  it('a source that fails mid-fill ends the restored tree with ERR_LAZY_FILL_FAILED; a retry from intact data succeeds', async () => {
    const { pid, log } = await startWorkload(256, 'failing');
    const before = await sum(pid, log);
    const file = path.join(dir(), 'intact.tar.zst');
    await checkpoint(pid, { archive: file });
    await waitUntilGone([pid], 5000);
    // Damage a copy in the middle of the page data, which only the lazy fill reads.
    const damaged = path.join(dir(), 'damaged.tar.zst');
    copyFileSync(file, damaged);
    const archive = await Archive.open(file);
    const pages = archive.entries.find((e) => e.name.startsWith('pages-'));
    archive.close();
    expect(pages).toBeDefined();
    const size = readFileSync(damaged).length;
    const fd = openSync(damaged, 'r+');
    for (let at = Math.floor(size * 0.4); at < size * 0.6; at += 65536) writeSync(fd, Buffer.from([0x5a, 0xa5, 0x5a]), 0, 3, at);
    closeSync(fd);

    const broken = await restore({ archive: damaged, lazy: true });
    await expect(broken.lazy?.fill).rejects.toMatchObject({ code: 'ERR_LAZY_FILL_FAILED' });
    await waitFor('the broken tree to end', () => (readStat(broken.pid) === undefined || readStat(broken.pid)?.state === 'Z' ? true : undefined));

    const retried = await restore({ archive: file, lazy: true });
    track(retried.pid);
    await retried.lazy?.fill;
    expect(await sum(retried.pid, log)).toBe(before);
  });
});
