// A migration's lazy dump of a process tree: when sending its images fails, CRIU would go on to
// serve the memory; the destination must never be told to pull it, and the source runs on. And
// a pre-copy's dump, whose pages the destination already has, keeps none of them.
import { spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateCriu, skipsSentLazyPages } from '../../src/criu/locate.js';
import { processSubject } from '../../src/migrate/process-subject.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { compileFixture, freePort, isRunningNotStopped, logText, useWorkspace, waitFor } from '../helpers/workloads.js';

const enabled = await canCheckpoint();

describe.runIf(enabled)('lazy dump of a migrating process', () => {
  const { dir, track } = useWorkspace();

  it('fails with the post-dump handler error, never says it serves, and leaves the tree resumable', async () => {
    const sleeper = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    const pid = track(sleeper.pid as number);
    await waitFor('the sleeper', () => isRunningNotStopped(pid) || undefined);
    let served = false;
    const abandon = new AbortController();
    const { held, done } = await processSubject(pid).lazyDump({
      imagesDir: path.join(dir(), 'images'),
      port: await freePort(),
      abandon: abandon.signal,
      criuOptions: {},
      onImages: async () => {
        throw new Error('the images could not be sent');
      },
      onServing: () => {
        served = true;
        abandon.abort(new Error('told to serve')); // nobody comes to pull: end CRIU's page server
      },
    });
    await expect(done).rejects.toThrow(/post-dump.*the images could not be sent/);
    expect(served).toBe(false);
    await held.resume();
    await waitFor('the resumed sleeper', () => isRunningNotStopped(pid) || undefined);
  });

  // Measured on this machine kind: a 2 GiB pre-copy's dump took ~120 ms frozen with every page
  // pinned into 4 MiB pipes, ~60 ms without (scripts/criu/lazy-pages-sent.patch).
  it('keeps no pipe for pages the destination already has, and refuses to serve them', async () => {
    expect(skipsSentLazyPages(locateCriu()), 'scripts/provision.sh builds CRIU with scripts/criu/lazy-pages-sent.patch').toBe(true);
    const memhog = await compileFixture('memhog', path.join('bench', 'workloads'));
    for (const pagesSent of [false, true]) {
      const log = path.join(dir(), `memhog-${pagesSent}.log`);
      const hog = spawn(memhog, ['128'], { detached: true, stdio: ['ignore', openSync(log, 'w'), 'ignore'] });
      const pid = track(hog.pid as number);
      await waitFor('the workload', () => (logText(log).includes('READY') ? true : undefined));
      const heap = largestMapping(pid);
      const port = await freePort();
      const abandon = new AbortController();
      let pipes = -1;
      let serving!: () => void;
      const served = new Promise<void>((resolve) => (serving = resolve));
      const { held, done } = await processSubject(pid).lazyDump({
        imagesDir: path.join(dir(), `images-${pagesSent}`),
        port,
        abandon: abandon.signal,
        criuOptions: {},
        pagesSent,
        onImages: async () => {
          pipes = pipesOf(criuChild());
        },
        onServing: () => serving(),
      });
      done.catch(() => {}); // looked at below
      await served;
      const answer = await askForPage(port, pid, heap);
      if (pagesSent) {
        // 128 MiB would take 32 pipes of 4 MiB; a few stay for the pages CRIU writes itself.
        expect(pipes).toBeLessThan(8);
        expect(answer.length).toBe(0); // the connection closed without a byte of memory
        await expect(done).rejects.toThrow(/lazy pages were not kept/);
      } else {
        expect(pipes).toBeGreaterThanOrEqual(32);
        expect(answer.length).toBeGreaterThanOrEqual(32 + 4096); // PS_IOV_ADD_F and the page
        expect(answer.readUInt32LE(0) & 0xffff).toBe(6);
        // Our page taken, the socket closed: CRIU's page server may end first, or be killed.
        abandon.abort(new Error('the test has its page'));
        await done.catch(() => {});
      }
      await held.resume();
      await waitFor('the resumed workload', () => isRunningNotStopped(pid) || undefined);
    }
  });
});

/** The largest mapping of `pid` (the workload's memory): its start. */
function largestMapping(pid: number): bigint {
  const ranges = readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[0]?.split('-').map((hex) => BigInt(`0x${hex}`)) as [bigint, bigint]);
  ranges.sort((a, b) => Number(b[1] - b[0] - (a[1] - a[0])));
  return (ranges[0] as [bigint, bigint])[0];
}

/** The `criu swrk` this process runs (one at a time here). */
function criuChild(): number {
  const child = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .find((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return stat.includes('(criu)') && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    });
  if (!child) throw new Error('no criu child found');
  return Number(child);
}

function pipesOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('pipe:');
    } catch {
      return false;
    }
  }).length;
}

/** Asks CRIU's page server for one page of `pid` at `vaddr` (PS_IOV_GET); all it sends back before it closes, or 5 s pass. */
async function askForPage(port: number, pid: number, vaddr: bigint): Promise<Buffer> {
  const header = Buffer.alloc(32);
  header.writeUInt32LE(7, 0); // PS_IOV_GET
  header.writeBigUInt64LE(1n, 8); // one page
  header.writeBigUInt64LE(vaddr, 16);
  header.writeBigUInt64LE(BigInt(pid), 24);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(header));
    const finish = () => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).length >= 32 + 4096) finish();
    });
    socket.on('close', finish);
    socket.on('error', finish); // a reset: closed all the same
    socket.setTimeout(5000, finish);
  });
}
