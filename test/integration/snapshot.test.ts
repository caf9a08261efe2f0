// A Node service snapshots itself (issue 14): through the API and through `freezedry snapshot`,
// with its hooks; copies restored from the snapshot run beside the original, each in its own
// pid namespace, with the warmed state, their own seeds and the environment the restore gave.
// A failing hook leaves the original as it was, and a copy whose hooks fail is ended.
import { execFile, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { restore } from '../../src/index.js';
import { processTree, readStat, waitUntilGone } from '../../src/process/proc.js';
import { canCheckpoint, capabilities } from '../helpers/capabilities.js';
import { freePort, logText, repoRoot, useWorkspace, waitFor, runCli } from '../helpers/workloads.js';

const execFileAsync = promisify(execFile);
const service = path.join(repoRoot, 'test', 'fixtures', 'snapshot-service.mjs');
const enabled = (await canCheckpoint()) && (await capabilities()).lazyPages;

interface ServiceReport {
  pid: number;
  restored: boolean;
  seed: string;
  warmChecksum: string;
  size: number;
  who: string | null;
}

async function ask<T = ServiceReport>(port: number, pathname = '/'): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(30_000) });
  return (await response.json()) as T;
}

describe.skipIf(!enabled)('self-checkpoint: snapshot() and its copies', () => {
  const workspace = useWorkspace();

  /**
   * Starts the service as a daemon would be (own session, output appended to a log), or as a
   * shell starts it (in our session: not a session leader, which CRIU needs --shell-job for).
   */
  async function startService(env: Record<string, string> = {}, ownSession = true): Promise<{ pid: number; port: number; log: string }> {
    const port = await freePort();
    const log = path.join(workspace.dir(), `service-${port}.log`);
    const out = openSync(log, 'a'); // O_APPEND: a copy's restore does not insist on the log's size
    const childEnv = { ...process.env, PORT: String(port), ...env };
    let pid: number;
    if (ownSession) {
      const child = spawn(process.execPath, [service], { env: childEnv, stdio: ['ignore', out, out], detached: true });
      child.unref();
      pid = workspace.track(child.pid as number);
    } else {
      // Under a shell that leads its own session, as a login shell would: our runner's session
      // may be led from outside its pid namespace (CI containers), which CRIU cannot dump.
      const shell = spawn('sh', ['-c', '"$0" "$1" >&2 & echo $!; wait', process.execPath, service], { env: childEnv, stdio: ['ignore', 'pipe', out], detached: true });
      shell.unref();
      workspace.track(shell.pid as number);
      pid = await new Promise<number>((resolve) => shell.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
      workspace.track(pid);
    }
    closeSync(out);
    await waitFor('the service to listen', () => (logText(log).includes('listening') ? true : undefined), 30_000);
    return { pid, port, log };
  }

  /** Restores one copy through the CLI; returns its report and host pid (tracked for cleanup). */
  async function restoreCopy(args: string[], env: Record<string, string>): Promise<{ port: number; hostPid: number; initPid: number }> {
    const port = Number(env.PORT);
    const envFlags = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
    const restored = await runCli(['restore', ...args, ...envFlags, '--json']);
    expect(restored.stderr + restored.stdout, 'restore of a copy').toMatch(/"instance"/);
    expect(restored.code).toBe(0);
    const result = JSON.parse(restored.stdout) as { pid: number; instance: { initPid: number; namespacePid: number } };
    workspace.track(result.instance.initPid);
    return { port, hostPid: result.pid, initPid: result.instance.initPid };
  }

  it('a service snapshots itself through the API, keeps serving, and three copies answer warm, each re-seeded', async () => {
    const images = path.join(workspace.dir(), 'api-images');
    const original = await startService({ SNAPSHOT_DIR: images });
    await waitFor('the snapshot to return', () => (logText(original.log).includes('snapshot returned') ? true : undefined), 30_000);
    expect(logText(original.log)).toContain('snapshot returned {"restored":false,"env":{},"wrote":');
    const before = await ask(original.port);
    expect(before).toMatchObject({ pid: original.pid, restored: false, size: 200_000 });

    const copies = [];
    for (const who of ['one', 'two', 'three']) copies.push(await restoreCopy(['-D', images], { PORT: String(await freePort()), WHO: who }));
    const reports = await Promise.all(copies.map((copy) => ask(copy.port)));
    for (const [i, report] of reports.entries()) {
      // Each copy runs with the original's pid inside its own pid namespace, warm, as itself.
      expect(report).toMatchObject({ pid: original.pid, restored: true, warmChecksum: before.warmChecksum, size: 200_000, who: ['one', 'two', 'three'][i] });
      expect(copies[i]?.hostPid).not.toBe(original.pid);
      expect(readStat(copies[i]?.hostPid as number)?.state).not.toBe('Z');
    }
    // afterRestore drew each seed after OpenSSL was reseeded: all differ, and from the original's.
    expect(new Set([before.seed, ...reports.map((r) => r.seed)]).size).toBe(4);
    // Each copy said so in its own log line (the log is shared): restored true, with its env.
    expect(logText(original.log).match(/snapshot returned \{"restored":true,"env":\{"PORT":"\d+","WHO":"(one|two|three)"\}/g)).toHaveLength(3);
    expect(await ask(original.port)).toMatchObject({ restored: false, seed: before.seed });
  });

  it('freezedry snapshot PID asks a registered service; its copy restores fully from the archive, in its own network namespace', async () => {
    const archive = path.join(workspace.dir(), 'cli.tar.zst');
    const original = await startService();
    const taken = await runCli(['snapshot', String(original.pid), '-o', archive]);
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    expect(taken.stdout).toContain(`pid ${original.pid} snapshotted itself into ${archive}`);
    expect(await ask(original.port)).toMatchObject({ restored: false });

    const port = original.port; // free in the copy's own network namespace
    const copy = await restoreCopy(['-i', archive, '--no-lazy', '--net-ns'], { PORT: String(port), WHO: 'isolated' });
    const { stdout } = await execFileAsync('nsenter', ['-t', String(copy.hostPid), '-n', process.execPath, '-e', `fetch('http://127.0.0.1:${port}/').then((r) => r.text()).then(console.log)`]);
    expect(JSON.parse(stdout)).toMatchObject({ restored: true, who: 'isolated' });
    // The copy listens for requests of its own, under its host pid.
    expect(existsSync(`/run/freezedry/snapshots/${copy.hostPid}.sock`)).toBe(true);
    expect(existsSync(`/run/freezedry/snapshots/${original.pid}.sock`)).toBe(true);
  });

  it('snapshot --exit ends a service that is not a session leader with its snapshot (the agent reports it), and a copy takes over', async () => {
    const images = path.join(workspace.dir(), 'exit-images');
    const original = await startService({}, false);
    expect(readStat(original.pid)?.sid).not.toBe(original.pid);
    expect(readStat(original.pid)?.sid).not.toBe(0);
    const taken = await runCli(['snapshot', String(original.pid), '-D', images, '--exit']);
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    await waitFor('the original to end', () => (readStat(original.pid) === undefined || readStat(original.pid)?.state === 'Z' ? true : undefined));
    const copy = await restoreCopy(['-D', images], { PORT: String(original.port), WHO: 'successor' });
    expect(await ask(copy.port)).toMatchObject({ pid: original.pid, restored: true, who: 'successor' });
  });

  it('a beforeSnapshot hook that throws aborts the snapshot with its error and leaves the service as it was', async () => {
    const images = path.join(workspace.dir(), 'refused-images');
    const original = await startService({ BEFORE_FAIL: '1' });
    const taken = await runCli(['snapshot', String(original.pid), '-D', images]);
    expect(taken.code).toBe(28);
    expect(taken.stderr).toContain("ERR_SNAPSHOT_HOOK_FAILED: the beforeSnapshot hook 'pause the job queue' failed: cannot pause the job queue");
    // Its listener was closed by the hook before the failing one, and reopened.
    expect(await ask(original.port)).toMatchObject({ pid: original.pid, restored: false });
    expect(existsSync(images) ? readdirSync(images) : []).toEqual([]);
    expect(existsSync(`/run/freezedry/snapshots/${original.pid}.sock`)).toBe(true);
  });

  it('a copy whose afterRestore hook fails is ended, and its restore fails with the hook\'s error', async () => {
    const images = path.join(workspace.dir(), 'hook-images');
    const original = await startService();
    expect((await runCli(['snapshot', String(original.pid), '-D', images])).code).toBe(0);
    const port = await freePort();
    const restored = await runCli(['restore', '-D', images, '--env', `PORT=${port}`, '--env', 'AFTER_FAIL=1']);
    expect(restored.code).toBe(28);
    expect(restored.stderr).toMatch(/ERR_SNAPSHOT_HOOK_FAILED: the restored copy \(pid \d+\) ended: the afterRestore hook 'listen again' failed: cannot reconnect to the database/);
    const copyPid = Number(/the restored copy \(pid (\d+)\)/.exec(restored.stderr)?.[1]);
    await waitFor('the failed copy to end', () => (readStat(copyPid) === undefined || readStat(copyPid)?.state === 'Z' ? true : undefined));
    await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(await ask(original.port)).toMatchObject({ restored: false });
  });

  it('a copy whose restore fails once it runs, told it is one (its namespace ended at post-resume), is reported and does not run on', async () => {
    const images = path.join(workspace.dir(), 'told-images');
    const original = await startService();
    expect((await runCli(['snapshot', String(original.pid), '-D', images])).code).toBe(0);
    const port = await freePort();
    let copyTree: number[] = [];
    const error = await restore({
      imagesDir: images,
      env: { PORT: String(port) },
      onNotification: async (n) => {
        if (n.name !== 'post-resume') return;
        // The copy runs, told it is one at post-restore. Its launcher is its pid namespace's
        // init: ending it ends CRIU (before it can answer) and the copy.
        copyTree = processTree(n.criuPid).filter((pid) => pid !== n.criuPid);
        process.kill(n.criuPid, 'SIGKILL');
        await waitUntilGone(copyTree, 5000);
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CRIU_DIED' });
    expect(copyTree.length).toBeGreaterThan(1); // CRIU and the copy
    expect(await waitUntilGone(copyTree, 5000)).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(await ask(original.port)).toMatchObject({ pid: original.pid, restored: false });
  });

  it('refuses, with a code and the service unharmed: twice at once, a worker thread, a directory not empty, no CRIU, checkpoint() of itself, a process not registered', async () => {
    const original = await startService({ NOT_EMPTY_DIR: path.join(workspace.dir(), 'not-empty') });
    expect(await ask(original.port, '/try?case=twice')).toEqual({ code: 'ERR_IMAGES_DIR_NOT_EMPTY then ERR_SNAPSHOT_BUSY' });
    expect(await ask(original.port, '/try?case=worker')).toEqual({ code: 'ERR_SNAPSHOT_BUSY' });
    expect(await ask(original.port, '/try?case=not-empty')).toEqual({ code: 'ERR_IMAGES_DIR_NOT_EMPTY' });
    expect(readFileSync(path.join(workspace.dir(), 'not-empty', 'precious'), 'utf8')).toBe('keep me');
    expect(await ask(original.port, '/try?case=no-criu')).toEqual({ code: 'ERR_CRIU_NOT_FOUND' });
    expect(await ask(original.port, '/try?case=self')).toEqual({ code: 'ERR_SELF_CHECKPOINT' });
    expect(await ask(original.port)).toMatchObject({ pid: original.pid, restored: false });
    const notRegistered = await runCli(['snapshot', String(process.pid), '-D', path.join(workspace.dir(), 'nothing')]);
    expect(notRegistered.code).toBe(29);
    expect(notRegistered.stderr).toContain('ERR_SNAPSHOT_NOT_ENABLED');
  });

  it('refuses without root: ERR_NOT_PERMITTED, before any hook runs', async () => {
    const lib = path.join(repoRoot, 'lib', 'index.js');
    const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
    const readable = await execFileAsync('setpriv', [...asNobody, 'test', '-r', lib]).then(() => true, () => false);
    if (!readable) {
      console.warn(`${lib} is not readable by nobody (a checkout under a private home): the non-root case is not run`);
      return;
    }
    const script = `import(${JSON.stringify(lib)}).then(async (m) => { let ran = false; m.beforeSnapshot(() => { ran = true; });
      const e = await m.snapshot({ imagesDir: '/tmp/never' }).catch((e) => e); console.log(e.code, ran); })`;
    const { stdout } = await execFileAsync('setpriv', [...asNobody, process.execPath, '-e', script]);
    expect(stdout.trim()).toBe('ERR_NOT_PERMITTED false');
  });

  it('snapshots into the store, and a copy restores from it by name', async () => {
    const storeRoot = path.join(workspace.dir(), 'store');
    const original = await startService({ SNAPSHOT_STORE: storeRoot });
    await waitFor('the snapshot to return', () => (logText(original.log).includes('snapshot returned') ? true : undefined), 30_000);
    process.env.FREEZEDRY_STORE = storeRoot; // where the CLI looks for 'warm'
    try {
      const copy = await restoreCopy(['--name', 'warm'], { PORT: String(await freePort()), WHO: 'from-store' });
      expect(await ask(copy.port)).toMatchObject({ restored: true, who: 'from-store' });
    } finally {
      delete process.env.FREEZEDRY_STORE;
    }
  });
});
