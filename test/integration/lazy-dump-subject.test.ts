// A migration's lazy dump of a process tree when sending its images fails: CRIU would go on to
// serve the memory; the destination must never be told to pull it, and the source runs on.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processSubject } from '../../src/migrate/process-subject.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { freePort, isRunningNotStopped, useWorkspace, waitFor } from '../helpers/workloads.js';

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
});
