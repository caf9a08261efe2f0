// Every bad input and failure gets its own error code and a message naming the cause, and the
// process being dumped is never left frozen or killed by our failure.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkpoint, features, restore } from '../../src/index.js';
import { readStat, waitUntilGone } from '../../src/process/proc.js';
import { run } from '../../src/run.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { echoService } from '../helpers/sockets.js';
import {
  freezedryCommand,
  httpRequest,
  isRunningNotStopped,
  onSmallDisk,
  repoRoot,
  startStateService,
  waitFor,
  useWorkspace,
} from '../helpers/workloads.js';

const exec = promisify(execFile);
const statSize = (file: string) => statSync(file, { throwIfNoEntry: false })?.size;
const enabled = await canCheckpoint();
const oldCriu = path.join(repoRoot, '.deps', 'criu-old', 'usr', 'sbin', 'criu');

describe.runIf(enabled)('errors and failure paths', () => {
  const { dir, track } = useWorkspace();

  async function sleeper(): Promise<number> {
    const { pid } = await run(['sleep', '600'], { logFile: path.join(dir(), 'sleep.log') });
    track(pid);
    return pid;
  }

  it('rejects a pid that is not a positive integer', async () => {
    for (const pid of [-1, 0, 1.5, Number.NaN, '42' as unknown as number]) {
      await expect(checkpoint(pid, { imagesDir: path.join(dir(), 'never') })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
  });

  it('refuses a lazy dump that can be abandoned but would end the tree: its page session ends as a success', async () => {
    const abandon = new AbortController().signal;
    await expect(checkpoint(process.ppid, { imagesDir: path.join(dir(), 'never'), lazyPages: { port: 1, abandon } })).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/abandon needs leaveStopped/) }),
    );
  });

  it('ERR_NO_SUCH_PROCESS for a pid with no process, and for a zombie', async () => {
    const maxPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    let unused = maxPid - 1;
    while (readStat(unused)) unused--;
    await expect(checkpoint(unused, { imagesDir: path.join(dir(), 'nobody') })).rejects.toMatchObject({
      code: 'ERR_NO_SUCH_PROCESS',
      message: `No process with pid ${unused}`,
    });
    // A parent that never reaps: its child stays a zombie. The child outlives the shell's exec
    // (a shell may reap a child that ended before it, and then no zombie is left).
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'] });
    track(parent.pid as number);
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    await waitFor('the zombie', () => (readStat(zombie)?.state === 'Z' ? true : undefined));
    await expect(checkpoint(zombie, { imagesDir: path.join(dir(), 'zombie') })).rejects.toMatchObject({ code: 'ERR_NO_SUCH_PROCESS' });
  });

  it('ERR_IMAGES_DIR_NOT_EMPTY leaves the existing files and the process alone', async () => {
    const pid = await sleeper();
    const used = path.join(dir(), 'used');
    mkdirSync(used);
    writeFileSync(path.join(used, 'precious.img'), 'keep me');
    await expect(checkpoint(pid, { imagesDir: used })).rejects.toMatchObject({ code: 'ERR_IMAGES_DIR_NOT_EMPTY' });
    expect(readFileSync(path.join(used, 'precious.img'), 'utf8')).toBe('keep me');
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it('ERR_IMAGES_MISSING for a missing directory, a path through a file, and a directory without a checkpoint', async () => {
    await expect(restore({ imagesDir: path.join(dir(), 'does-not-exist') })).rejects.toMatchObject({ code: 'ERR_IMAGES_MISSING' });
    const file = path.join(dir(), 'a-file');
    writeFileSync(file, 'not a directory');
    await expect(restore({ imagesDir: path.join(file, 'images') })).rejects.toMatchObject({ code: 'ERR_IMAGES_MISSING' });
    const empty = path.join(dir(), 'empty');
    mkdirSync(empty);
    await expect(restore({ imagesDir: empty })).rejects.toMatchObject({
      code: 'ERR_IMAGES_MISSING',
      message: expect.stringContaining('inventory.img'),
    });
  });

  it('ERR_CRIU_NOT_FOUND for a criu binary that does not exist', async () => {
    const pid = await sleeper();
    await expect(checkpoint(pid, { imagesDir: path.join(dir(), 'no-criu'), criu: '/nonexistent/criu' })).rejects.toMatchObject({
      code: 'ERR_CRIU_NOT_FOUND',
    });
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it.runIf(existsSync(oldCriu))('ERR_CRIU_TOO_OLD for Debian 12 CRIU 3.17, before anything is frozen', async () => {
    const pid = await sleeper();
    const error = await checkpoint(pid, { imagesDir: path.join(dir(), 'old-criu'), criu: oldCriu }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CRIU_TOO_OLD' });
    expect((error as Error).message).toContain('CRIU 3.17.1');
    expect(isRunningNotStopped(pid)).toBe(true);
  });
  if (!existsSync(oldCriu)) console.warn(`SKIP ERR_CRIU_TOO_OLD: ${oldCriu} missing (run scripts/provision.sh --test)`);

  it('ERR_KERNEL_FEATURE_MISSING for memory tracking on a kernel without soft-dirty', async (context) => {
    if ((await features()).memTrack) {
      console.warn('SKIP ERR_KERNEL_FEATURE_MISSING: this kernel has soft-dirty tracking');
      context.skip();
    }
    const pid = await sleeper();
    const error = await checkpoint(pid, { imagesDir: path.join(dir(), 'track-mem'), trackMem: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_KERNEL_FEATURE_MISSING' });
    expect((error as Error).message).toMatch(/Tracking memory is not available/);
    expect(isRunningNotStopped(pid)).toBe(true);
    // CRIU's own pre-dump would abort on an assertion with the tree seized: refused before it runs.
    const preDumped = await checkpoint(pid, { imagesDir: path.join(dir(), 'pre-dump'), preDump: true }).catch((e: unknown) => e);
    expect(preDumped).toMatchObject({ code: 'ERR_KERNEL_FEATURE_MISSING' });
    expect((preDumped as Error).message).toMatch(/no soft-dirty bits/);
    expect(existsSync(path.join(dir(), 'pre-dump'))).toBe(false);
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it('a process whose session is led from outside its pid namespace is refused with the reason, before anything freezes', async () => {
    // Inside a new pid namespace, a sleep started by a shell that is not a session leader: its
    // session's leader (our runner's) is outside, so its session id reads 0 there.
    const script = `sleep 600 & ${freezedryCommand} dump $! -D ${path.join(dir(), 'session-0')}; echo "status $?"; grep State /proc/$!/status; kill -9 $!`;
    const { stdout, stderr } = await exec('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', script]).catch((e: { stdout: string; stderr: string }) => e);
    expect(stderr).toContain('ERR_CRIU_DUMP_FAILED');
    expect(stderr).toContain('belongs to a session led from outside its pid namespace');
    expect(stdout).toContain(`status ${exitCodeFor('ERR_CRIU_DUMP_FAILED')}`);
    // The sleep runs on, neither stopped nor ended.
    expect(stdout).toMatch(/State:\s+S \(sleeping\)/);
  });

  it("a failed dump quotes CRIU's real error, keeps the process running with its state, and leaves only the log", async () => {
    const service = await startStateService({ mb: 8, logDir: dir() });
    track(service.pid);
    await httpRequest(service.port, 'POST', '/increment?by=3');
    const held = new Socket();
    await new Promise<void>((resolve) => held.connect(service.port, '127.0.0.1', resolve));
    const imagesDir = path.join(dir(), 'tcp-refused');
    const error = await checkpoint(service.pid, { imagesDir }).catch((e: unknown) => e);
    held.destroy();
    expect(error).toMatchObject({ code: 'ERR_CRIU_DUMP_FAILED', logFile: path.join(imagesDir, 'dump.log') });
    expect((error as Error).message).toContain('Connected TCP socket, consider using --tcp-established option');
    expect((error as Error).message).not.toContain('RLIMIT_NOFILE');
    expect(isRunningNotStopped(service.pid)).toBe(true);
    expect((await httpRequest(service.port, 'GET', '/state')).counter).toBe(3);
    expect(readdirSync(imagesDir)).toEqual(['dump.log']);
    // The directory is usable again for the next attempt.
    await checkpoint(service.pid, { imagesDir, leaveRunning: true });
    expect(readdirSync(imagesDir)).toContain('pstree.img');
  });

  it('a disk filling up under an image directory: ERR_NO_SPACE with CRIU\'s words, the process runs on with its state', async () => {
    await onSmallDisk(dir(), '4m', async (small) => {
      const service = await startStateService({ mb: 16, logDir: dir() });
      track(service.pid);
      await httpRequest(service.port, 'POST', '/increment?by=2');
      const imagesDir = path.join(small, 'images');
      const error = await checkpoint(service.pid, { imagesDir }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_NO_SPACE', message: expect.stringContaining('No space left on device') });
      expect(exitCodeFor('ERR_NO_SPACE')).not.toBe(exitCodeFor('ERR_CRIU_DUMP_FAILED'));
      expect(isRunningNotStopped(service.pid)).toBe(true);
      expect((await httpRequest(service.port, 'GET', '/state')).counter).toBe(2);
      expect(readdirSync(imagesDir)).toEqual(['dump.log']);
    });
  });

  it('a disk already full under an image directory (CRIU cannot even log): ERR_NO_SPACE, the process runs on', async () => {
    await onSmallDisk(dir(), '2m', async (small) => {
      const pid = await sleeper();
      const imagesDir = path.join(small, 'images');
      mkdirSync(imagesDir);
      // Filled to the last block: CRIU's log, on the same disk, stays empty.
      const filler = openSync(path.join(small, 'filler'), 'w');
      try {
        for (;;) writeSync(filler, Buffer.alloc(64 << 10));
      } catch (error) {
        expect(error).toMatchObject({ code: 'ENOSPC' });
      } finally {
        closeSync(filler);
      }
      const error = await checkpoint(pid, { imagesDir }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_NO_SPACE', message: expect.stringContaining(`no space left on the file system of ${imagesDir}`) });
      expect(isRunningNotStopped(pid)).toBe(true);
    });
  });

  it('a failed restore names CRIU\'s error (a damaged image), and the images can be used once repaired', async () => {
    const pid = await sleeper();
    const imagesDir = path.join(dir(), 'damaged');
    await checkpoint(pid, { imagesDir });
    const core = readdirSync(imagesDir).find((name) => name.startsWith('core-')) as string;
    const original = readFileSync(path.join(imagesDir, core));
    truncateSync(path.join(imagesDir, core), 10);
    const error = await restore({ imagesDir }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CRIU_RESTORE_FAILED' });
    expect((error as Error).message).toMatch(/Error \(criu\//);
    expect((error as Error).message).not.toContain('RLIMIT_NOFILE');
    writeFileSync(path.join(imagesDir, core), original);
    const restored = await restore({ imagesDir });
    track(restored.pid);
    expect(isRunningNotStopped(restored.pid)).toBe(true);
  });

  it('ERR_PID_IN_USE when the dumped pids belong to a running process', async () => {
    // detached: Node makes it a session leader itself, as CRIU wants without --shell-job.
    const child = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
    const pid = child.pid as number;
    track(pid);
    await waitFor('setsid to exec', () => (readStat(pid)?.comm === 'sleep' ? true : undefined));
    const imagesDir = path.join(dir(), 'in-use');
    await checkpoint(pid, { imagesDir, leaveRunning: true });
    await expect(restore({ imagesDir })).rejects.toMatchObject({ code: 'ERR_PID_IN_USE', details: { pids: [pid] } });
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it('waits for dumped pids still held as zombies, then restores in place', async () => {
    // The dumped process's parent never reaps it; it becomes reapable only when that parent dies.
    const parent = spawn('sh', ['-c', 'setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!; exec sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'] });
    track(parent.pid as number);
    const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    await waitFor('setsid to exec', () => (readStat(pid)?.comm === 'sleep' ? true : undefined));
    const imagesDir = path.join(dir(), 'zombie-wait');
    await checkpoint(pid, { imagesDir });
    expect(readStat(pid)?.state).toBe('Z');
    await expect(restore({ imagesDir, reapTimeoutMs: 300 })).rejects.toMatchObject({
      code: 'ERR_PID_IN_USE',
      message: expect.stringContaining('zombie'),
    });
    setTimeout(() => parent.kill('SIGKILL'), 300);
    const restored = await restore({ imagesDir });
    track(restored.pid);
    expect(restored.pid).toBe(pid);
  });

  it('ERR_CRIU_DIED when criu is killed mid-request; the process keeps running', async () => {
    const pid = await sleeper();
    const error = await checkpoint(pid, {
      imagesDir: path.join(dir(), 'criu-killed'),
      onNotification: (n) => {
        if (n.name === 'pre-dump') process.kill(n.criuPid, 'SIGKILL');
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CRIU_DIED', message: expect.stringContaining('SIGKILL') });
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it('ERR_CRIU_DIED when criu is killed while its parasite copies memory; the process runs on with its state', async () => {
    // pre-dump (above) comes before CRIU seizes the tree; here it dies with its code inside the
    // process, halfway through a memory dump large enough to be caught at it.
    const service = await startStateService({ mb: 384, logDir: dir() });
    track(service.pid);
    await httpRequest(service.port, 'POST', '/increment?by=5');
    const before = await httpRequest(service.port, 'GET', '/state');
    const imagesDir = path.join(dir(), 'criu-killed-mid-memory');
    let killedAtBytes = 0;
    let poll: NodeJS.Timeout | undefined;
    const error = await checkpoint(service.pid, {
      imagesDir,
      onNotification: (n) => {
        if (n.name !== 'pre-dump') return;
        poll = setInterval(() => {
          const pages = existsSync(imagesDir) ? readdirSync(imagesDir).filter((name) => name.startsWith('pages-')) : [];
          const bytes = pages.reduce((sum, name) => sum + (statSize(path.join(imagesDir, name)) ?? 0), 0);
          if (bytes < 32 << 20) return;
          clearInterval(poll);
          killedAtBytes = bytes;
          process.kill(n.criuPid, 'SIGKILL');
        }, 2);
      },
    })
      .catch((e: unknown) => e)
      .finally(() => clearInterval(poll));
    expect(error).toMatchObject({ code: 'ERR_CRIU_DIED', message: expect.stringContaining('SIGKILL') });
    expect(killedAtBytes).toBeGreaterThan(0);
    expect(killedAtBytes).toBeLessThan(384 << 20);
    expect(isRunningNotStopped(service.pid)).toBe(true);
    expect(readFileSync(`/proc/${service.pid}/status`, 'utf8')).toMatch(/TracerPid:\s+0\n/);
    expect(await httpRequest(service.port, 'GET', '/state')).toMatchObject({ counter: 5, checksum: before.checksum });
    expect(readdirSync(imagesDir)).toEqual(['dump.log']);
    await checkpoint(service.pid, { imagesDir, leaveRunning: true });
    expect(await httpRequest(service.port, 'GET', '/state')).toMatchObject({ counter: 5, checksum: before.checksum });
  });

  for (const at of ['pre-restore', 'post-restore', 'pre-resume'] as const) {
    it(`ERR_CRIU_DIED when criu is killed mid-restore (at ${at}); no restored tree is left, and the images restore after`, async () => {
      const pid = await sleeper();
      const imagesDir = path.join(dir(), `criu-killed-restore-${at}`);
      await checkpoint(pid, { imagesDir });
      await waitUntilGone([pid], 5000);
      let restoredRoot: number | undefined;
      const error = await restore({
        imagesDir,
        onNotification: (n) => {
          if (n.name === 'post-restore') restoredRoot = n.pid;
          if (n.name === at) process.kill(n.criuPid, 'SIGKILL');
        },
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_CRIU_DIED' });
      // What CRIU had restored (at post-restore, a whole running tree) is ended with the failure.
      if (restoredRoot !== undefined) {
        track(restoredRoot);
        expect(await waitUntilGone([restoredRoot], 5000)).toEqual([]);
      }
      expect(at === 'pre-restore' || restoredRoot !== undefined).toBe(true);
      const retried = await restore({ imagesDir });
      track(retried.pid);
      expect(isRunningNotStopped(retried.pid)).toBe(true);
    });
  }

  it('ERR_CRIU_TIMEOUT when criu hangs; it is killed and the process keeps running', async () => {
    const pid = await sleeper();
    const t = performance.now();
    const error = await checkpoint(pid, {
      imagesDir: path.join(dir(), 'criu-hung'),
      timeoutMs: 1000,
      onNotification: (n) => {
        if (n.name === 'pre-dump') process.kill(n.criuPid, 'SIGSTOP');
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CRIU_TIMEOUT' });
    expect(performance.now() - t).toBeLessThan(10_000);
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it('ERR_CRIU_TIMEOUT after CRIU dumped a connection: it is killed, and the tree resumes with its connection whole', async () => {
    // A killed CRIU lets go of the tree with its socket in repair mode and its connection
    // locked: the tree is stopped before, and both are undone before it runs.
    const echo = await echoService(path.join(dir(), 'echo.log'), track);
    try {
      const error = await checkpoint(echo.pid, {
        imagesDir: path.join(dir(), 'criu-hung-tcp'),
        tcpEstablished: true,
        networkLock: 'nftables',
        timeoutMs: 1000,
        onNotification: (n) => {
          if (n.name === 'query-ext-files') echo.sendWhileFrozen(); // waits in its socket, dumped with it
          if (n.name === 'post-dump') process.kill(n.criuPid, 'SIGSTOP');
        },
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_CRIU_TIMEOUT' });
      expect(await echo.goesOn()).toBe('before\nwhile frozen\nafter\n');
    } finally {
      echo.close();
    }
  });

  it('restores attached when asked: the root is our child and its exit is reported', async () => {
    const pid = await sleeper();
    const imagesDir = path.join(dir(), 'attached');
    await checkpoint(pid, { imagesDir });
    await waitUntilGone([pid], 5000);
    const restored = await restore({ imagesDir, detach: false });
    expect(readStat(restored.pid)?.ppid).toBe(process.pid);
    // SIGKILL: the init of a pid namespace ignores signals it has no handler for.
    process.kill(restored.pid, 'SIGKILL');
    await expect(restored.exited).resolves.toEqual({ reaped: true, code: -1, signal: 9 });
    expect(readStat(restored.pid)).toBeUndefined();

    const detachedImages = path.join(dir(), 'detached');
    const again = await run(['sleep', '600'], { logFile: path.join(dir(), 'sleep2.log') });
    track(again.pid);
    await checkpoint(again.pid, { imagesDir: detachedImages });
    const detached = await restore({ imagesDir: detachedImages });
    track(detached.pid);
    expect(readStat(detached.pid)?.ppid).not.toBe(process.pid);
    expect(detached.exited).toBeUndefined();
  });
});

void exec;
