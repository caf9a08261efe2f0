// pstree.img: the dumped tasks, as seen from the dumped tree's own pid namespace.
import path from 'node:path';
import { decodeMessage, messageType } from '../protobuf.js';
import { ImageMagic, readImage } from './image-file.js';

const PstreeEntry = messageType('PstreeEntry', [
  ['pid', 1, 'uint32', 'required'],
  ['ppid', 2, 'uint32', 'required'],
  ['pgid', 3, 'uint32', 'required'],
  ['sid', 4, 'uint32', 'required'],
  ['threads', 5, 'uint32', 'repeated'],
]);

export interface DumpedTask {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  threads: number[];
}

export async function readProcessTree(imagesDir: string): Promise<DumpedTask[]> {
  const image = await readImage(path.join(imagesDir, 'pstree.img'), ImageMagic.PSTREE);
  return image.entries.map((entry) => decodeMessage<DumpedTask>(PstreeEntry, entry));
}

/** A tree whose root is pid 1 has its own pid namespace, so its pids never collide on restore. */
export function hasOwnPidNamespace(tree: DumpedTask[]): boolean {
  return tree[0]?.pid === 1;
}
