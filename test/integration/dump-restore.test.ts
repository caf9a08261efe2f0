// Real dumps and restores of real process trees through the library API.
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/index.js';
import { readStat, waitUntilGone } from '../../src/process/proc.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import {
  compileFixture,
  httpRequest,
  isRunningNotStopped,
  killTree,
  logText,
  startStateService,
  waitFor,
  useWorkspace,
} from '../helpers/workloads.js';

const enabled = await canCheckpoint();

describe.runIf(enabled)('checkpoint and restore', () => {
  const { dir, track } = useWorkspace();

  it('restores a Node service holding 100 MB of state, with the same state on the same listening socket', async () => {
    const service = await startStateService({ mb: 100, logDir: dir() });
    track(service.pid);
    await httpRequest(service.port, 'POST', '/increment?by=41');
    const before = await httpRequest(service.port, 'POST', '/increment');
    expect(before.counter).toBe(42);

    const imagesDir = path.join(dir(), 'service-images');
    const dumped = await checkpoint(service.pid, { imagesDir });
    expect(dumped.stats?.pagesWritten).toBeGreaterThan((100 * 1024 * 1024) / 4096 / 2);
    expect(dumped.stats?.frozenTimeMs).toBeGreaterThan(0);
    expect(readStat(service.pid)).toBeUndefined(); // killed by the dump (no leaveRunning)
    await expect(fetch(`http://127.0.0.1:${service.port}/state`)).rejects.toThrow();

    const restored = await restore({ imagesDir });
    track(restored.pid);
    // A new host pid; inside its own pid namespace it is the same process (pid 1) it was.
    expect(restored.pid).not.toBe(service.pid);
    expect(restored.stats?.pagesRestored).toBeGreaterThan(0);
    const after = await httpRequest(service.port, 'GET', '/state');
    expect(after).toEqual(before);
    const next = await httpRequest(service.port, 'POST', '/increment');
    expect(next.counter).toBe(43);
    killTree(restored.pid);
  });

  it('keeps an established TCP connection usable across a --tcp-established dump and restore', async () => {
    const service = await startStateService({ mb: 8, logDir: dir() });
    track(service.pid);
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => socket.connect(service.port, '127.0.0.1', resolve).once('error', reject));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    const ask = async (request: string) => {
      received = '';
      socket.write(`${request} HTTP/1.1\r\nHost: service\r\n\r\n`);
      const body = await waitFor('an answer on the held connection', () => {
        const match = received.match(/\r\n\r\n(\{.*\})$/s);
        return match ? (JSON.parse(match[1] as string) as { counter: number; pid: number }) : undefined;
      });
      return body;
    };
    expect((await ask('POST /increment?by=7')).counter).toBe(7);

    const imagesDir = path.join(dir(), 'tcp-images');
    await checkpoint(service.pid, { imagesDir, tcpEstablished: true });
    const restored = await restore({ imagesDir, tcpEstablished: true });
    track(restored.pid);
    // The same socket, never reconnected: the restored server answers on it.
    const after = await ask('POST /increment');
    expect(after.counter).toBe(8);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
    killTree(restored.pid);
  });

  it('leaves the tree running with leaveRunning, and the images restore a second copy later', async () => {
    const service = await startStateService({ mb: 4, logDir: dir() });
    track(service.pid);
    await httpRequest(service.port, 'POST', '/increment?by=5');
    const imagesDir = path.join(dir(), 'leave-running-images');
    const result = await checkpoint(service.pid, { imagesDir, leaveRunning: true });
    expect(result.leftRunning).toBe(true);
    expect(isRunningNotStopped(service.pid)).toBe(true);
    expect((await httpRequest(service.port, 'POST', '/increment')).counter).toBe(6);
    // A second copy beside the original cannot take its port: CRIU's own reason is reported,
    // and the original is untouched.
    const clash = await restore({ imagesDir }).catch((e: unknown) => e);
    expect(clash).toMatchObject({ code: 'ERR_CRIU_RESTORE_FAILED' });
    expect((clash as Error).message).toContain("Can't bind inet socket");
    expect((clash as Error).message).toContain('Address already in use');
    expect((clash as Error).message).not.toContain('RLIMIT_NOFILE');
    expect(isRunningNotStopped(service.pid)).toBe(true);
    killTree(service.pid);
    await waitUntilGone([service.pid], 5000);
    const restored = await restore({ imagesDir });
    track(restored.pid);
    expect((await httpRequest(service.port, 'GET', '/state')).counter).toBe(5);
    killTree(restored.pid);
  });

  // Arming a hardware breakpoint (one PTRACE_POKEUSER of a debug register) took the kernel 5-35
  // ms here, in a dump's freeze and in every restore: freezedry runs CRIU on its path without.
  it('runs CRIU without hardware breakpoints, in the dump and in the restore', async () => {
    const sleeper = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    const pid = track(sleeper.pid as number);
    const imagesDir = path.join(dir(), 'no-breakpoints');
    await checkpoint(pid, { imagesDir, logLevel: 4 });
    await waitUntilGone([pid], 5000);
    const restored = await restore({ imagesDir, logLevel: 4 });
    track(restored.pid);
    const noBreakpoint = `Force no-breakpoints restore of ${pid}`;
    expect(logText(path.join(imagesDir, 'dump.log'))).toContain(noBreakpoint);
    expect(logText(restored.logFile as string)).toContain(noBreakpoint);
    killTree(restored.pid);
  });

  it('dumps a shell job (not a session leader) only with shellJob, and restores it', async () => {
    const log = path.join(dir(), 'shell-job.log');
    // The job runs under a session leader of its own (a detached sh), as under a login shell:
    // the test runner's own session may be led from outside its pid namespace (CI containers),
    // which CRIU cannot dump even as a shell job.
    const job = `i=0; while :; do i=$((i+1)); echo $i >> ${log}; sleep 0.05; done`;
    const leader = spawn('sh', ['-c', `sh -c '${job}' >/dev/null & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    track(leader.pid as number);
    const pid = await new Promise<number>((resolve) => leader.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    track(pid);
    expect(readStat(pid)?.sid).toBe(leader.pid);
    await waitFor('the job to write', () => (logText(log).length > 0 ? true : undefined));

    const refused = path.join(dir(), 'shell-job-refused');
    const error = await checkpoint(pid, { imagesDir: refused }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CRIU_DUMP_FAILED' });
    expect((error as Error).message).toMatch(/shell-job|session/i);
    expect(isRunningNotStopped(pid)).toBe(true);

    const imagesDir = path.join(dir(), 'shell-job-images');
    await checkpoint(pid, { imagesDir, shellJob: true });
    const restored = await restore({ imagesDir, shellJob: true });
    track(restored.pid);
    const lines = logText(log).trim().split('\n').length;
    await waitFor('the restored job to write again', () => (logText(log).trim().split('\n').length > lines + 2 ? true : undefined));
    killTree(restored.pid);
  });

  it('restores a multi-process tree with pipes, sockets, a FIFO, locks, memfd, mappings, timers, signals, threads and a zombie', async () => {
    const binary = await compileFixture('resource-tree');
    const { run } = await import('../../src/run.js');
    const fixtureDir = path.join(dir(), 'resource-tree');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(fixtureDir);
    const log = path.join(fixtureDir, 'out.log');
    const tree = await run([binary, fixtureDir], { logFile: log });
    track(tree.pid);
    await waitFor('the tree to set up', () => (logText(log).includes('READY') ? true : undefined));
    const checkResults = async (count: number) => {
      process.kill(tree.pid === undefined ? -1 : currentPid, 'SIGUSR2');
      return waitFor('the self-check', () => {
        const results = logText(log).match(/RESULT \d+\/\d+/g) ?? [];
        return results.length >= count ? results[count - 1] : undefined;
      });
    };
    let currentPid = tree.pid;
    expect(await checkResults(1)).toBe('RESULT 11/11');

    const imagesDir = path.join(dir(), 'resource-tree-images');
    const dumped = await checkpoint(tree.pid, { imagesDir, fileLocks: true });
    expect(dumped.pids.length).toBeGreaterThanOrEqual(3); // root, worker, zombie
    const restored = await restore({ imagesDir, fileLocks: true });
    track(restored.pid);
    currentPid = restored.pid;
    const report = await checkResults(2);
    expect(logText(log).split('RESULT 11/11')[1]).not.toMatch(/FAIL/);
    expect(report).toBe('RESULT 11/11');
    killTree(restored.pid);
  });
});
