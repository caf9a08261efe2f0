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

  it('ERR_NO_SUCH_PROCESS for a pid with no process', () => {
    expect(() => DirtyTracker.attach(4194300)).toThrow(expect.objectContaining({ code: 'ERR_NO_SUCH_PROCESS' }));
  });
});
