// The destination's chain of CRIU image directories (pre-copy with CRIU's pre-dumps), built from
// real messages over a loopback connection into a real directory.
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageChain } from '../../src/migrate/image-chain.js';
import { channelPair } from '../helpers/sockets.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function setup() {
  const { sender, receiver, close } = await channelPair();
  const root = await mkdtemp(path.join(os.tmpdir(), 'freezedry-chain-'));
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'freezedry-chain-src-'));
  cleanup.push(close);
  cleanup.push(() => rm(root, { recursive: true, force: true }));
  cleanup.push(() => rm(scratch, { recursive: true, force: true }));
  const send = async (dir: string, name: string, content: string) => {
    const file = path.join(scratch, 'f');
    await writeFile(file, content);
    await sender.sendFile({ type: 'image-file', dir, name }, file, content.length);
  };
  const chain = new ImageChain(root);
  const take = async () => chain.receive(receiver, await receiver.next('image-file'));
  return { root, send, chain, take };
}

describe('image chain', () => {
  it('links each directory to the one before it, as CRIU reads parents', async () => {
    const { root, send, chain, take } = await setup();
    const files: [string, string, string][] = [
      ['r0', 'pages-1.img', 'round zero'],
      ['r0', 'pagemap-1.img', 'map zero'],
      ['r1', 'pages-1.img', 'round one'],
      ['final', 'pstree.img', 'tree'],
    ];
    for (const [dir, name, content] of files) {
      await send(dir, name, content);
      await take();
    }
    for (const [dir, name, content] of files) expect(await readFile(path.join(root, dir, name), 'utf8')).toBe(content);
    expect(await readlink(path.join(root, 'r1', 'parent'))).toBe('../r0');
    expect(await readlink(path.join(root, 'final', 'parent'))).toBe('../r1');
    await expect(readlink(path.join(root, 'r0', 'parent'))).rejects.toThrow();
    expect(chain.last).toBe(path.join(root, 'final'));
    // Through the links, the final directory sees every round's files.
    expect(await readFile(path.join(root, 'final', 'parent', 'parent', 'pages-1.img'), 'utf8')).toBe('round zero');
  });

  it('refuses names that would leave its directory, and directories out of order', async () => {
    const { send, take } = await setup();
    await send('../r0', 'pages-1.img', 'x');
    await expect(take()).rejects.toThrow(/malformed image file/);
    const second = await setup();
    await second.send('r0', '../../etc/passwd.img', 'x');
    await expect(second.take()).rejects.toThrow(/malformed image file/);
    const third = await setup();
    await third.send('r0', 'a.img', 'x');
    await third.take();
    await third.send('r1', 'a.img', 'y');
    await third.take();
    await third.send('r0', 'b.img', 'z');
    await expect(third.take()).rejects.toThrow(/out of order/);
  });
});
