// The destination's copy of a chain of CRIU images (criu-rounds.ts): directories r0, r1, … and
// final, each linked to the one before it by a `parent` symlink, as CRIU's restore expects.
// Names come from the source, so only these directory names and plain image file names are taken.
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, FreezedryError } from '../errors.js';
import type { MessageChannel, Message } from './message-channel.js';

const DIR_NAME = /^(r\d{1,4}|final)$/;
const FILE_NAME = /^[\w.+-]+\.img$/;

export class ImageChain {
  private readonly dirs: string[] = [];

  constructor(private readonly root: string) {}

  /** The directory a restore starts from: the newest of the chain. */
  get last(): string | undefined {
    const name = this.dirs.at(-1);
    return name === undefined ? undefined : path.join(this.root, name);
  }

  /** Stores one 'image-file' message and the bytes that follow it. */
  async receive(channel: MessageChannel, message: Message): Promise<void> {
    const dir = String(message.dir);
    const name = String(message.name);
    const size = Number(message.size);
    if (!DIR_NAME.test(dir) || !FILE_NAME.test(name) || !Number.isSafeInteger(size) || size < 0) {
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `malformed image file from the source (${JSON.stringify({ dir, name, size })})`);
    }
    await this.open(dir);
    await channel.receiveFile(size, path.join(this.root, dir, name));
  }

  /** A directory seen for the first time is a new link of the chain: its parent is the one before. */
  private async open(dir: string): Promise<void> {
    if (this.dirs.at(-1) === dir) return;
    if (this.dirs.includes(dir) || this.dirs.at(-1) === 'final') {
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `image directory ${dir} out of order (after ${this.dirs.join(', ')})`);
    }
    await mkdir(path.join(this.root, dir), { recursive: true, mode: 0o700 });
    const parent = this.dirs.at(-1);
    if (parent !== undefined) await symlink(`../${parent}`, path.join(this.root, dir, 'parent'));
    this.dirs.push(dir);
  }
}
