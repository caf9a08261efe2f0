// The addon itself: loading, error shapes, the CRIU channel against a real peer process,
// ExitWatch, and teardown from GC and worker threads. Needs no root.
import { spawn } from 'node:child_process';
import { readSync, closeSync } from 'node:fs';
import os from 'node:os';
import { getSystemErrorName } from 'node:util';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { native, type ChannelEventHandler } from '../../src/native/binding.js';

const peerScript = fileURLToPath(new URL('./peers/seqpacket_echo.py', import.meta.url));

type Event = { kind: string; data?: Buffer | Error; fd?: number };

function openChannel() {
  const events: Event[] = [];
  let wake: (() => void) | undefined;
  const onEvent: ChannelEventHandler = (kind, data, fd) => {
    events.push({ kind, data, fd });
    wake?.();
  };
  const channel = new (native().CriuChannel)(onEvent);
  const peer = spawn('python3', [peerScript], { stdio: ['ignore', 'inherit', 'inherit', channel.peerFd] });
  channel.closePeer();
  const next = async (): Promise<Event> => {
    while (events.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return events.shift() as Event;
  };
  return { channel, peer, next };
}

describe('native addon', () => {
  it('names errnos exactly as Node does', () => {
    let compared = 0;
    for (const [name, value] of Object.entries(os.constants.errno)) {
      const ours = native().errnoName(value);
      const node = getSystemErrorName(-value);
      if (ours === 'UNKNOWN' || node.startsWith('Unknown')) continue;
      expect(ours).toBe(node);
      compared++;
      void name;
    }
    expect(compared).toBeGreaterThan(60);
  });

  it("throws system errors in Node's shape", () => {
    try {
      native().throwSysError(2);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'probe', path: '/probe' });
      expect((error as Error).message).toBe("ENOENT: no such file or directory, probe '/probe'");
    }
  });

  it('carries whole messages both ways over the channel, large ones included', async () => {
    const { channel, next } = openChannel();
    channel.send(Buffer.from('hello'));
    channel.send(Buffer.alloc(150_000, 7));
    const first = await next();
    expect(first.kind).toBe('message');
    expect((first.data as Buffer).toString()).toBe('hello');
    const second = await next();
    expect((second.data as Buffer).length).toBe(150_000);
    channel.send(Buffer.from('exit'));
    expect((await next()).kind).toBe('closed');
    channel.close();
  });

  it('receives a file descriptor passed with a message', async () => {
    const { channel, next } = openChannel();
    channel.send(Buffer.from('fd'));
    const event = await next();
    expect((event.data as Buffer).toString()).toBe('here');
    expect(event.fd).toBeGreaterThan(2);
    const buffer = Buffer.alloc(16);
    const read = readSync(event.fd as number, buffer);
    expect(buffer.subarray(0, read).toString()).toBe('through');
    closeSync(event.fd as number);
    channel.send(Buffer.from('exit'));
    await next();
    channel.close();
  });

  it('reports the peer dying, and refuses to send after close', async () => {
    const { channel, peer, next } = openChannel();
    peer.kill('SIGKILL');
    expect((await next()).kind).toBe('closed');
    channel.close();
    channel.close(); // idempotent
    expect(() => channel.send(Buffer.from('late'))).toThrow(expect.objectContaining({ code: 'ERR_CHANNEL_CLOSED' }));
  });

  it('ExitWatch reports the exit of a process that is not our child', async () => {
    const sh = spawn('sh', ['-c', 'sleep 0.2 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number(await new Promise<string>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    const status = await new Promise((resolve, reject) => {
      const watch = new (native().ExitWatch)(pid, (err, result) => {
        watch.close();
        if (err) reject(err);
        else resolve(result);
      });
    });
    // Its parent reaped it; Linux 6.15+ still tells a pidfd holder how it ended (sleep: 0).
    const [major, minor] = os.release().split('.').map(Number) as [number, number];
    const known = major > 6 || (major === 6 && minor >= 15);
    expect(status).toEqual({ reaped: false, code: known ? 0 : -1, signal: 0 });
    expect(() => new (native().ExitWatch)(0x3ffffff, () => {})).toThrow(expect.objectContaining({ syscall: 'pidfd_open' }));
  });

  it('survives garbage collection of an open channel', async () => {
    for (let i = 0; i < 20; i++) new (native().CriuChannel)(() => {});
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
    (globalThis as { gc?: () => void }).gc?.();
  });

  it('stops its threads when a worker thread ends with channels still open', async () => {
    const bindingUrl = new URL('../../build/Release/freezedry.node', import.meta.url);
    const worker = new Worker(
      `const { createRequire } = require('node:module');
       const addon = createRequire(${JSON.stringify(fileURLToPath(import.meta.url))})(${JSON.stringify(fileURLToPath(bindingUrl))});
       const channels = [new addon.CriuChannel(() => {}), new addon.CriuChannel(() => {})];
       require('node:worker_threads').parentPort.postMessage(channels.length);
       // Idle channels do not hold the worker's loop; it ends and the cleanup hook joins them.`,
      { eval: true },
    );
    const [made, exitCode] = await Promise.all([
      new Promise((resolve) => worker.once('message', resolve)),
      new Promise((resolve) => worker.once('exit', resolve)),
    ]);
    expect(made).toBe(2);
    expect(exitCode).toBe(0);
  });

  it('decompress refuses a frame that declares more than its blocks can hold, before allocating it', async () => {
    // A zstd frame header (single segment, 8-byte content size) claiming 1 TiB, then one empty
    // raw block: a peer's lie that must not become a 1 TiB allocation (or a promise that never settles).
    const header = Buffer.alloc(4 + 1 + 8);
    header.writeUInt32LE(0xfd2fb528, 0);
    header[4] = 0xe0;
    header.writeBigUInt64LE(1n << 40n, 5);
    const frame = Buffer.concat([header, Buffer.from([0x01, 0x00, 0x00])]);
    await expect(native().decompress(frame)).rejects.toThrow(/the frame declares 1099511627776 bytes, more than/);
  });
});
