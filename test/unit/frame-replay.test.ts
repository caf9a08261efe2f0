import { afterEach, describe, expect, it } from 'vitest';
import { checkedParts, receiveFrames } from '../../src/migrate/frame-replay.js';
import { MessageChannel } from '../../src/migrate/message-channel.js';
import { socketPair } from '../helpers/sockets.js';

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

/** A batch of length-prefixed frames of these sizes. */
function batch(...sizes: number[]): Buffer {
  return Buffer.concat(
    sizes.map((size) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(size);
      return Buffer.concat([length, Buffer.alloc(size, 0xab)]);
    }),
  );
}

describe("the destination's check of a 'frames' message", () => {
  it('splits the bytes into each veth’s whole frames', () => {
    const eth0 = batch(60, 1514);
    const eth1 = batch(54);
    const parts = checkedParts([{ veth: 'eth0', size: eth0.length }, { veth: 'eth1', size: eth1.length }, { veth: 'eth2', size: 0 }], Buffer.concat([eth0, eth1]));
    expect(parts.map((p) => [p.veth, p.bytes.length])).toEqual([['eth0', eth0.length], ['eth1', eth1.length], ['eth2', 0]]);
    expect(parts[1]?.bytes.equals(eth1)).toBe(true);
  });

  it('refuses what a lying or broken source could send, before anything is injected', () => {
    const good = batch(60);
    const refused = (declared: unknown, bytes: Buffer) => () => checkedParts(declared, bytes);
    expect(refused({ veth: 'eth0' }, good)).toThrow(/no list of veths/);
    expect(refused([{ veth: '../../x', size: good.length }], good)).toThrow(/valid name/);
    expect(refused([{ veth: 'eth0', size: good.length + 1 }], good)).toThrow(/runs past/);
    expect(refused([{ veth: 'eth0', size: -1 }], good)).toThrow(/runs past/);
    expect(refused([{ veth: 'eth0', size: 4 }], good)).toThrow(/do not parse/); // a frame cut short
    expect(refused([{ veth: 'eth0', size: 30 }, { veth: 'eth1', size: 34 }], batch(26, 26))).toThrow(/do not parse/); // under an Ethernet and IP header
    expect(refused([{ veth: 'eth0', size: 10 }], batch(70000).subarray(0, 10))).toThrow(/do not parse/); // over 64 KiB
    expect(refused([{ veth: 'eth0', size: good.length }], Buffer.concat([good, Buffer.alloc(3)]))).toThrow(/beyond/);
    expect(refused(new Array(65).fill({ veth: 'eth0', size: 0 }), Buffer.alloc(0))).toThrow(/no list of veths/);
    expect(refused([], Buffer.alloc((16 << 20) + 1))).toThrow(/at most/);
  });
});

describe("the destination's reading of an 'early-frames' message", () => {
  it('reads the frames a source sends with its images, and refuses an announced size over the bound before reading a byte', async () => {
    const pair = await socketPair();
    cleanup.push(pair.close);
    const source = new MessageChannel(pair.sockets[0]);
    const destination = new MessageChannel(pair.sockets[1]);
    const eth0 = batch(60, 54);
    source.sendBytes({ type: 'early-frames', veths: [{ veth: 'eth0', size: eth0.length }] }, eth0);
    const frames = await receiveFrames(destination, await destination.next('early-frames'));
    expect(frames.map((f) => [f.veth, f.bytes.equals(eth0)])).toEqual([['eth0', true]]);
    // A lying source announces 16 MiB and a byte, and sends nothing: refused at once, not awaited.
    source.send({ type: 'early-frames', veths: [], size: (16 << 20) + 1 });
    const lying = await destination.next('early-frames');
    await expect(receiveFrames(destination, lying)).rejects.toThrow(/malformed 'early-frames' message/);
    source.close();
    destination.close();
  });
});
