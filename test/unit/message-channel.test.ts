// The migration agents' framing over a real loopback TCP connection.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageChannel } from '../../src/migrate/message-channel.js';
import { socketPair as connectedPair } from '../helpers/sockets.js';

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

async function socketPair(): Promise<[Socket, Socket]> {
  const pair = await connectedPair();
  cleanup.push(pair.close);
  return pair.sockets;
}

describe('message channel', () => {
  it('carries messages and payloads larger than its buffering limit, in order', async () => {
    const [a, b] = await socketPair();
    const sender = new MessageChannel(a);
    const receiver = new MessageChannel(b);
    const big = Buffer.alloc(12 << 20, 7); // more than the 8 MiB at which it pauses the socket
    for (let i = 0; i < 3; i++) sender.sendBytes({ type: 'pages', index: i }, big);
    sender.send({ type: 'end' });
    for (let i = 0; i < 3; i++) {
      const header = await receiver.next('pages');
      expect(header.index).toBe(i);
      const bytes = await receiver.receiveBytes(Number(header.size));
      expect(bytes.length).toBe(big.length);
      expect(bytes[bytes.length - 1]).toBe(7);
    }
    expect((await receiver.next('end')).type).toBe('end');
    sender.close();
    receiver.close();
  });

  it('fails a wait once the peer has been silent for the link timeout, and says so', async () => {
    const [a, b] = await socketPair();
    b.pause(); // a peer that never speaks (no keepalives either)
    const channel = new MessageChannel(a, { linkTimeoutMs: 300 });
    const lost: Error[] = [];
    channel.onLost((error) => lost.push(error));
    const started = performance.now();
    await expect(channel.next('anything')).rejects.toMatchObject({ code: 'ERR_MIGRATION_FAILED', message: expect.stringMatching(/no word from the peer/) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(lost).toHaveLength(1);
  });

  it("skips the peer's keepalives, and finds its failure report among what arrived", async () => {
    const [a, b] = await socketPair();
    const left = new MessageChannel(a, { linkTimeoutMs: 400 });
    const right = new MessageChannel(b, { linkTimeoutMs: 400 });
    await new Promise((resolve) => setTimeout(resolve, 350)); // a few keepalives each way
    right.send({ type: 'failed', code: 'ERR_INCOMPATIBLE_HOST', message: 'no such CPU' });
    right.close();
    const reported = await left.peerFailure();
    expect(reported).toMatchObject({ code: 'ERR_INCOMPATIBLE_HOST', message: expect.stringMatching(/no such CPU/) });
    left.close();
  });

  // A side that failed after the freeze asks for the peer's reason; a peer that did not fail
  // waits on, saying keepalive, and the question must not wait with it (it once hung forever).
  it('gives up on a failure report from a peer that only says keepalive', async () => {
    const [a, b] = await socketPair();
    const left = new MessageChannel(a, { linkTimeoutMs: 5000 });
    const right = new MessageChannel(b, { linkTimeoutMs: 5000 });
    const started = performance.now();
    expect(await left.peerFailure(1500)).toBeUndefined(); // a keepalive came meanwhile
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
    left.close();
    right.close();
  });

  it("refuses what a peer declares wrongly, and does not let a peer's failure pick our error code", async () => {
    const [a, b] = await socketPair();
    const peer = new MessageChannel(a);
    const channel = new MessageChannel(b);
    // Sizes: missing, negative, fractional, beyond what one message may bring into memory.
    for (const size of [undefined, -1, 1.5, 2 ** 40, '12']) {
      peer.send({ type: 'pages', size } as never);
      const header = await channel.next('pages');
      await expect(channel.receiveBytes(header.size)).rejects.toMatchObject({ code: 'ERR_MIGRATION_PROTOCOL', message: expect.stringMatching(/bytes to follow its 'pages' message/) });
    }
    // A failure about the peer's own host keeps its code only as peerCode.
    peer.send({ type: 'failed', code: 'ERR_NO_SPACE', message: 'disk full there' });
    await expect(channel.next('restored')).rejects.toMatchObject({ code: 'ERR_MIGRATION_FAILED', details: { peerCode: 'ERR_NO_SPACE' }, message: expect.stringMatching(/ERR_NO_SPACE: disk full there/) });
    peer.send({ type: 'incompatible', code: 'ERR_INCOMPATIBLE_HOST', message: 'no bridge' });
    await expect(channel.next('welcome')).rejects.toMatchObject({ code: 'ERR_INCOMPATIBLE_HOST' });
    // Not JSON, or no type: a protocol error.
    const frame = (text: string) => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(Buffer.byteLength(text));
      a.write(Buffer.concat([header, Buffer.from(text)]));
    };
    frame('{not json');
    await expect(channel.next()).rejects.toMatchObject({ code: 'ERR_MIGRATION_PROTOCOL' });
    frame('[1,2]');
    await expect(channel.next()).rejects.toMatchObject({ code: 'ERR_MIGRATION_PROTOCOL' });
    peer.close();
    channel.close();
  });
});
