// pstree.img: the dumped tasks, as seen from the dumped tree's own pid namespace.
import path from 'node:path';
import { readSmallFile } from './image-file.js';
import { parsePstree, type DumpedTask } from './memory-images.js';

export type { DumpedTask } from './memory-images.js';

export async function readProcessTree(imagesDir: string): Promise<DumpedTask[]> {
  const file = path.join(imagesDir, 'pstree.img');
  return parsePstree(readSmallFile(file), file);
}

/** A tree whose root is pid 1 has its own pid namespace, so its pids never collide on restore. */
export function hasOwnPidNamespace(tree: DumpedTask[]): boolean {
  return tree[0]?.pid === 1;
}
