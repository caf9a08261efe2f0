// Lazy restore: the tree runs at once, its memory arrives through userfaultfd, and ends up
// exactly as it was, even while the tree forks, unmaps, discards, moves and re-protects memory
// meanwhile.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Archive, checkpoint, restore } from '../../src/index.js';
import { readStat, waitUntilGone } from '../../src/process/proc.js';
import { run } from '../../src/run.js';
import { capabilities, canCheckpoint } from '../helpers/capabilities.js';
import { compileFixture, freePort, isRunningNotStopped, logText, freezedryCommand, repoRoot, useWorkspace, waitFor } from '../helpers/workloads.js';

const enabled = (await canCheckpoint()) && (await capabilities()).lazyPages;
const criu = enabled ? readFileSync(path.join(repoRoot, '.deps', 'criu-path'), 'utf8').trim() : 'criu';
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

  it('stays correct when the tree forks, unmaps, discards, moves and re-protects memory during the fill', async () => {
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

  it('a fault on a never-written page while another thread discards memory is served at once, not when the fill ends', async () => {
    const { pid, log } = await startWorkload(1024, 'holes');
    const imagesDir = path.join(dir(), 'holes');
    await checkpoint(pid, { imagesDir });
    const restored = await restore({ imagesDir, lazy: true });
    track(restored.pid);
    // Each discard is an event the page server must read before it may place pages; a zero page
    // refused meanwhile (EAGAIN) must be placed again, or its thread sleeps until the fill ends.
    process.kill(restored.pid, 'SIGPWR');
    const verdict = await waitFor('the holes verdict', () => /^HOLES (OK|BAD.*)$/m.exec(logText(log))?.[0]);
    const during = restored.lazy?.stats();
    expect(verdict).toBe('HOLES OK');
    expect(during?.completeMs).toBe(-1); // the fill of 1 GiB was still going: nothing waited for it
    expect(during?.zeroPages).toBeGreaterThanOrEqual(2048);
    const stats = await restored.lazy?.fill;
    expect(stats?.pagesCopied).toBeGreaterThan(0);
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

  it('if the process serving the pages is killed mid-fill, the restored tree is ended, never left running on zeros', async () => {
    const { pid, log } = await startWorkload(512, 'server-killed');
    const imagesDir = path.join(dir(), 'server-killed');
    await checkpoint(pid, { imagesDir });
    const cliRestore = spawn(freezedryCommand, ['restore', '-D', imagesDir, '--lazy'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let said = '';
    cliRestore.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    const restoredPid = Number(await waitFor('the tree to run', () => said.match(/pid (\d+) is running/)?.[1]));
    track(restoredPid);
    cliRestore.kill('SIGKILL');
    await waitFor('the orphaned tree to be ended', () => (readStat(restoredPid) === undefined || readStat(restoredPid)?.state === 'Z' ? true : undefined), 10_000);
    expect(logText(log)).not.toMatch(/BAD/);
  });

  /** A stock `criu dump --lazy-pages` of pid: it keeps the tree frozen and serves its pages. */
  async function lazyDumpSource(pid: number, name: string): Promise<{ imagesDir: string; port: number; dumper: ChildProcess; exited: Promise<number | null> }> {
    const imagesDir = path.join(dir(), name);
    mkdirSync(imagesDir);
    const port = await freePort();
    // --status-fd: criu writes to fd 3 once its page server listens (a probe connection would
    // take its one accept).
    const dumper = spawn(criu, ['dump', '-t', String(pid), '-D', imagesDir, '--lazy-pages', '--address', '127.0.0.1', '--port', String(port), '-o', 'dump.log', '--status-fd', '3'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => dumper.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      (dumper.stdio[3] as NodeJS.ReadableStream).once('data', () => resolve());
      dumper.once('exit', (code) => reject(new Error(`criu dump --lazy-pages exited with ${code}: ${logText(path.join(imagesDir, 'dump.log'))}`)));
    });
    return { imagesDir, port, dumper, exited };
  }

  it('pulls pages from a stock criu dump --lazy-pages source, which ends once every page is pulled', async () => {
    const { pid, log } = await startWorkload(128, 'remote');
    const before = await sum(pid, log);
    const source = await lazyDumpSource(pid, 'remote-images');
    const restored = await restore({ imagesDir: source.imagesDir, lazy: true, pageServer: { address: '127.0.0.1', port: source.port } });
    track(restored.pid);
    const stats = await restored.lazy?.fill;
    expect(stats?.pagesCopied).toBe(stats?.pagesTotal);
    expect(await source.exited).toBe(0); // the dump completed: the source tree is gone
    expect(await sum(restored.pid, log)).toBe(before);
  });

  it('a source that disconnects mid-fill: ERR_LAZY_FILL_FAILED, the restored tree ends, the source resumes, a retry succeeds', async () => {
    const { pid, log } = await startWorkload(512, 'remote-cut');
    const before = await sum(pid, log);
    const source = await lazyDumpSource(pid, 'remote-cut-images');
    const restored = await restore({ imagesDir: source.imagesDir, lazy: true, pageServer: { address: '127.0.0.1', port: source.port } });
    source.dumper.kill('SIGKILL');
    await expect(restored.lazy?.fill).rejects.toMatchObject({ code: 'ERR_LAZY_FILL_FAILED', message: expect.stringContaining('went away') });
    await waitFor('the restored tree to end', () => (readStat(restored.pid) === undefined || readStat(restored.pid)?.state === 'Z' ? true : undefined));
    // Killing the dumping criu resumes the frozen source, with its memory intact.
    await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined));
    expect(await sum(pid, log)).toBe(before);

    const again = await lazyDumpSource(pid, 'remote-retry-images');
    const retried = await restore({ imagesDir: again.imagesDir, lazy: true, pageServer: { address: '127.0.0.1', port: again.port } });
    track(retried.pid);
    await retried.lazy?.fill;
    expect(await again.exited).toBe(0);
    expect(await sum(retried.pid, log)).toBe(before);
  });

  it("a lazy dump's page server listens only on the address asked for (loopback), not on every address", async () => {
    const { pid, log } = await startWorkload(16, 'loopback-only');
    const before = await sum(pid, log);
    const port = await freePort();
    const abandon = new AbortController();
    let listeners: string[] = [];
    // At status-ready CRIU listens and waits for our answer: the moment to look.
    const dumping = checkpoint(pid, {
      imagesDir: path.join(dir(), 'loopback-only'),
      lazyPages: { address: '127.0.0.1', port, abandon: abandon.signal },
      leaveStopped: true,
      onNotification: ({ name }) => {
        if (name !== 'status-ready') return;
        const { stdout } = spawnSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
        listeners = stdout.split('\n').filter(Boolean).map((line) => line.split(/\s+/)[3] as string);
        abandon.abort(new Error('seen enough'));
      },
    });
    await expect(dumping).rejects.toThrow();
    expect(listeners).toEqual([`127.0.0.1:${port}`]);
    // Abandoned, the dump fails and the source runs on, intact.
    await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined));
    expect(await sum(pid, log)).toBe(before);
  });
});
