// The images of a frozen tree as one message, over a real loopback connection into a real
// directory: a small bundle, one larger than a message may bring into memory (received file by
// file), and bundles that would write outside the directory or do not add up.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleFiles, receiveImages } from '../../src/migrate/image-bundle.js';
import { channelPair } from '../helpers/sockets.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function setup() {
  const { sender, receiver, close } = await channelPair();
  const from = await mkdtemp(path.join(os.tmpdir(), 'freezedry-bundle-from-'));
  const to = await mkdtemp(path.join(os.tmpdir(), 'freezedry-bundle-to-'));
  cleanup.push(close);
  cleanup.push(() => rm(from, { recursive: true, force: true }));
  cleanup.push(() => rm(to, { recursive: true, force: true }));
  return { sender, receiver, from, to: path.join(to, 'checkpoint') };
}

describe('image bundle', () => {
  it('arrives whole, small or larger than one message may bring into memory', async () => {
    const { sender, receiver, from, to } = await setup();
    const files: Record<string, Buffer> = {
      'core-1.img': Buffer.from('core'),
      'pagemap-1.img': Buffer.alloc(3000, 2),
      // A pages image CRIU wrote whole (pages it did not leave to be pulled): 300 MiB.
      'pages-1.img': Buffer.alloc(300 << 20, 5),
      'empty.img': Buffer.alloc(0),
    };
    files['pages-1.img']?.writeUInt32BE(0xdeadbeef, (300 << 20) - 4);
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(from, name), content);
    const bundle = bundleFiles(from);
    expect(bundle.bytes.length).toBeGreaterThan(256 << 20);
    sender.sendBytes({ type: 'images', files: bundle.files }, bundle.bytes);
    await receiveImages(receiver, await receiver.next('images'), to);
    expect((await readdir(to)).sort()).toEqual(Object.keys(files).sort());
    for (const [name, content] of Object.entries(files)) expect((await readFile(path.join(to, name))).equals(content), name).toBe(true);

    // And a small one, in memory.
    const small = path.join(path.dirname(to), 'small');
    sender.sendBytes({ type: 'images', files: [{ name: 'a.img', size: 2 }, { name: 'b.img', size: 1 }] }, Buffer.from('xyz'));
    await receiveImages(receiver, await receiver.next('images'), small);
    expect(await readFile(path.join(small, 'a.img'), 'utf8')).toBe('xy');
    expect(await readFile(path.join(small, 'b.img'), 'utf8')).toBe('z');
    // 300 MiB written, sent, written and read back through the disk: 1-3 s alone; it ran past
    // vitest's 5 s default on a clean clone's run beside the other unit files.
  }, 60_000);

  it('refuses names outside its directory, twice the same name, and sizes that do not add up, writing nothing', async () => {
    const { receiver, to } = await setup();
    const offers = [
      { files: [{ name: '../escape.img', size: 1 }], size: 1 },
      { files: [{ name: '/etc/passwd', size: 1 }], size: 1 },
      { files: [{ name: '..', size: 1 }], size: 1 },
      { files: [{ name: 'a.img', size: 1 }, { name: 'a.img', size: 1 }], size: 2 },
      { files: [{ name: 'a.img', size: 1 }], size: 2 },
      { files: [{ name: 'a.img', size: -1 }], size: -1 },
      { files: 'a.img', size: 1 },
    ];
    for (const offer of offers) {
      await expect(receiveImages(receiver, { type: 'images', ...offer }, to), JSON.stringify(offer)).rejects.toMatchObject({ code: 'ERR_MIGRATION_FAILED' });
    }
    await expect(readdir(to)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
