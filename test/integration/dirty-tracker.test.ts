// The dirty tracker on a live process that keeps writing part of its memory.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DirtyTracker } from '../../src/index.js';
import { run } from '../../src/run.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { compileFixture, isRunningNotStopped, logText, useWorkspace, waitFor } from '../helpers/workloads.js';

const enabled = await canCheckpoint();

describe.runIf(enabled)('dirty tracker', () => {
  const { dir, track } = useWorkspace();

  it('reports about what a running process writes, and leaves it running', async () => {
    const memhog = await compileFixture('memhog', path.join('bench', 'workloads'));
    const log = path.join(dir(), 'memhog.log');
    const { pid } = await run([memhog, '128', '--dirty', '8'], { logFile: log });
    track(pid);
    await waitFor('the workload', () => (logText(log).includes('READY') ? true : undefined));
    const tracker = DirtyTracker.attach(pid);
    expect(tracker.trackedBytes).toBeGreaterThanOrEqual(128 << 20);
    tracker.scan(); // from here on
    await sleep(500);
    const written = tracker.scan().reduce((sum, [start, end]) => sum + (end - start), 0);
    // 8 MiB/s for half a second: about 4 MiB (its 4 KiB-strided writes touch one byte a page).
    expect(written).toBeGreaterThan(1 << 20);
    expect(written).toBeLessThan(32 << 20);
    expect(isRunningNotStopped(pid)).toBe(true);
    tracker.close();
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  // mremap keeps a moved mapping's pages and their write-protect bits, but (without
  // UFFD_FEATURE_EVENT_REMAP) not its userfaultfd registration: the addresses it lands on,
  // whose earlier content a pre-copy may have sent, must count as written and leave the tracking.
  it('counts a mapping moved onto unmapped addresses as written, and stops trusting them', async () => {
    const remap = await compileFixture('remap-memory');
    const log = path.join(dir(), 'remap.log');
    const { pid } = await run([remap], { logFile: log });
    track(pid);
    const areas = await waitFor('the workload', () => logText(log).match(/^AREAS (\d+) (\d+) (\d+)$/m) ?? undefined);
    const [a, b, length] = areas.slice(1).map(Number) as [number, number, number];
    const covers = (ranges: [number, number][], start: number, end: number) => ranges.some(([from, to]) => from <= start && to >= end);
    const tracker = DirtyTracker.attach(pid);
    try {
      expect(covers(tracker.areas(), a, a + length)).toBe(true);
      expect(covers(tracker.areas(), b, b + length)).toBe(true);
      tracker.scan(); // from here on
      expect(tracker.scan().some(([from, to]) => from < a + length && to > a)).toBe(false); // nothing written yet
      process.kill(pid, 'SIGUSR1');
      await waitFor('the move', () => (logText(log).includes('MOVED b') ? true : undefined));
      expect(covers(tracker.scan(), a, a + length)).toBe(true);
      expect(tracker.areas().some(([from, to]) => from < a + length && to > a)).toBe(false);
      expect(isRunningNotStopped(pid)).toBe(true);
    } finally {
      tracker.close();
    }
  });

  it('ERR_NO_SUCH_PROCESS for a pid with no process', () => {
    expect(() => DirtyTracker.attach(4194300)).toThrow(expect.objectContaining({ code: 'ERR_NO_SUCH_PROCESS' }));
  });
});
