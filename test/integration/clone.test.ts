// A tree started with run() --net lives in its own pid and network namespaces, so a checkpoint
// of it restores as a clone beside the running original, on the same port.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/index.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { httpRequest, isRunningNotStopped, killTree, removeDir, startStateService, tempDir } from '../helpers/workloads.js';

const enabled = await canCheckpoint();

describe.runIf(enabled)('clones beside the original', () => {
  let work: string;
  const started: number[] = [];
  beforeAll(async () => {
    work = await tempDir();
  });
  afterAll(async () => {
    started.forEach(killTree);
    await removeDir(work);
  });

  it('restores a clone of a running service beside it, each with its own state afterwards', async () => {
    const original = await startStateService({ mb: 16, net: true, logDir: work });
    started.push(original.pid);
    await httpRequest(original.port, 'POST', '/increment?by=10', original.pid);
    const before = await httpRequest(original.port, 'GET', '/state', original.pid);

    const imagesDir = path.join(work, 'clone-images');
    await checkpoint(original.pid, { imagesDir, leaveRunning: true });
    const clone = await restore({ imagesDir });
    started.push(clone.pid);

    expect(clone.pid).not.toBe(original.pid);
    expect(isRunningNotStopped(original.pid)).toBe(true);
    expect(await httpRequest(original.port, 'GET', '/state', clone.pid)).toEqual(before);
    // They diverge from here: the clone is a separate process with its own memory.
    await httpRequest(original.port, 'POST', '/increment', clone.pid);
    expect((await httpRequest(original.port, 'GET', '/state', clone.pid)).counter).toBe(11);
    expect((await httpRequest(original.port, 'GET', '/state', original.pid)).counter).toBe(10);
  });
});
