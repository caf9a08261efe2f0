// CRIU's notifications reach the caller in order, wait for async handlers, and a rejection
// aborts the operation without losing the process.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore, type CriuNotification } from '../../src/index.js';
import { readStat } from '../../src/process/proc.js';
import { run } from '../../src/run.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { isRunningNotStopped, useWorkspace } from '../helpers/workloads.js';

const enabled = await canCheckpoint();

describe.runIf(enabled)('CRIU notifications', () => {
  const { dir, track } = useWorkspace();

  async function sleeper(): Promise<number> {
    const { pid } = await run(['sleep', '600'], { logFile: path.join(dir(), 'sleep.log') });
    track(pid);
    return pid;
  }

  it('delivers dump and restore notifications in order, waiting for async handlers', async () => {
    const pid = await sleeper();
    const seen: CriuNotification[] = [];
    const imagesDir = path.join(dir(), 'order');
    let waitedMs = 0;
    await checkpoint(pid, {
      imagesDir,
      onNotification: async (n) => {
        seen.push(n);
        if (n.name === 'pre-dump') {
          // CRIU must wait: the process is still not frozen after this pause.
          const t = performance.now();
          await new Promise((resolve) => setTimeout(resolve, 200));
          waitedMs = performance.now() - t;
          expect(readStat(pid)?.state).toBe('S');
        }
      },
    });
    expect(waitedMs).toBeGreaterThanOrEqual(190);
    expect(seen.map((n) => n.name)).toEqual(['pre-dump', 'query-ext-files', 'post-dump']);
    expect(seen.every((n) => n.criuPid > 0)).toBe(true);

    const restoredSeen: CriuNotification[] = [];
    const restored = await restore({ imagesDir, onNotification: (n) => void restoredSeen.push(n) });
    track(restored.pid);
    // The tree has its own pid (and time) namespace, so the namespace steps come too.
    expect(restoredSeen.map((n) => n.name)).toEqual([
      'pre-restore',
      'setup-namespaces',
      'post-setup-namespaces',
      'post-restore',
      'pre-resume',
      'post-resume',
    ]);
    expect(restoredSeen.find((n) => n.name === 'post-restore')?.pid).toBe(restored.pid);
  });

  it('a rejected post-dump notification resumes the process and reports the handler error', async () => {
    const pid = await sleeper();
    const imagesDir = path.join(dir(), 'post-dump-nack');
    const error = await checkpoint(pid, {
      imagesDir,
      onNotification: (n) => {
        if (n.name === 'post-dump') throw new Error('upload slot unavailable');
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_NOTIFICATION_REJECTED', details: { notification: 'post-dump' } });
    expect((error as Error).message).toContain('upload slot unavailable');
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it('a rejected pre-restore notification aborts the restore', async () => {
    const pid = await sleeper();
    const imagesDir = path.join(dir(), 'pre-restore-nack');
    await checkpoint(pid, { imagesDir });
    const error = await restore({
      imagesDir,
      onNotification: async (n) => {
        if (n.name === 'pre-restore') throw new Error('not on this host');
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_NOTIFICATION_REJECTED', details: { notification: 'pre-restore' } });
    // The images are intact: a second attempt succeeds.
    const restored = await restore({ imagesDir });
    track(restored.pid);
    expect(isRunningNotStopped(restored.pid)).toBe(true);
  });

  it('an AbortSignal stops a dump at the next notification and leaves the process running', async () => {
    const pid = await sleeper();
    const controller = new AbortController();
    const error = await checkpoint(pid, {
      imagesDir: path.join(dir(), 'aborted'),
      signal: controller.signal,
      onNotification: (n) => {
        if (n.name === 'pre-dump') controller.abort(new Error('user pressed Ctrl-C'));
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ABORT_ERR' });
    expect(isRunningNotStopped(pid)).toBe(true);
  });
});
