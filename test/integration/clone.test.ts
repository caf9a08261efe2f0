// A tree started with run() --net lives in its own pid and network namespaces, so a checkpoint
// of it restores as a clone beside the running original, on the same port.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/index.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { httpRequest, isRunningNotStopped, startStateService, useWorkspace } from '../helpers/workloads.js';

const enabled = await canCheckpoint();

describe.runIf(enabled)('clones beside the original', () => {
  const { dir, track } = useWorkspace();

  it('restores a clone of a running service beside it, each with its own state afterwards', async () => {
    const original = await startStateService({ mb: 16, net: true, logDir: dir() });
    track(original.pid);
    await httpRequest(original.port, 'POST', '/increment?by=10', original.pid);
    const before = await httpRequest(original.port, 'GET', '/state', original.pid);

    const imagesDir = path.join(dir(), 'clone-images');
    await checkpoint(original.pid, { imagesDir, leaveRunning: true });
    const clone = await restore({ imagesDir });
    track(clone.pid);

    expect(clone.pid).not.toBe(original.pid);
    expect(isRunningNotStopped(original.pid)).toBe(true);
    expect(await httpRequest(original.port, 'GET', '/state', clone.pid)).toEqual(before);
    // They diverge from here: the clone is a separate process with its own memory.
    await httpRequest(original.port, 'POST', '/increment', clone.pid);
    expect((await httpRequest(original.port, 'GET', '/state', clone.pid)).counter).toBe(11);
    expect((await httpRequest(original.port, 'GET', '/state', original.pid)).counter).toBe(10);
  });
});
