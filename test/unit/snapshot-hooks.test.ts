// The order, timeouts and failure rules of snapshot hooks (pure logic: no process is dumped).
import { afterEach, describe, expect, it } from 'vitest';
import { afterRestore, beforeSnapshot, runAfterRestore, runBeforeSnapshot } from '../../src/snapshot/hooks.js';

describe('snapshot hooks', () => {
  const unregister: (() => void)[] = [];
  afterEach(() => unregister.splice(0).forEach((fn) => fn()));

  it('closes last-registered first and reopens in registration order', async () => {
    const calls: string[] = [];
    for (const name of ['database', 'server']) {
      unregister.push(beforeSnapshot(() => void calls.push(`close ${name}`)));
      unregister.push(afterRestore(() => void calls.push(`open ${name}`)));
    }
    await runBeforeSnapshot();
    await runAfterRestore({ restored: true, env: {} });
    expect(calls).toEqual(['close server', 'close database', 'open database', 'open server']);
  });

  it('a hook that throws or outlives its timeout fails with ERR_SNAPSHOT_HOOK_FAILED naming it', async () => {
    unregister.push(beforeSnapshot(() => new Promise(() => {}), { name: 'stuck', timeoutMs: 50 }));
    await expect(runBeforeSnapshot()).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_HOOK_FAILED', message: "the beforeSnapshot hook 'stuck' did not finish within 50 ms" });
    unregister.splice(0).forEach((fn) => fn());
    const cause = new Error('no database');
    unregister.push(beforeSnapshot(() => Promise.reject(cause), { name: 'pause' }));
    await expect(runBeforeSnapshot()).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_HOOK_FAILED', cause });
  });

  it('in the original every after-hook runs despite a failure; in a copy the first failure stops them', async () => {
    const opened: string[] = [];
    unregister.push(afterRestore(() => Promise.reject(new Error('first fails')), { name: 'first' }));
    unregister.push(afterRestore(() => void opened.push('second')));
    await expect(runAfterRestore({ restored: false, env: {} })).rejects.toThrow("the afterRestore hook 'first' failed: first fails");
    expect(opened).toEqual(['second']);
    await expect(runAfterRestore({ restored: true, env: {} })).rejects.toThrow('first fails');
    expect(opened).toEqual(['second']);
  });

  it('refuses a hook that is not a function, or a timeout that is not positive', () => {
    expect(() => beforeSnapshot('close' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => afterRestore(() => {}, { timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
