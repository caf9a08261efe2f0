// Where image files are read from: a directory, an archive, or memory.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface ImageSource {
  names(): Promise<string[]>;
  /** The file's bytes, or undefined when there is no such image. */
  read(name: string): Promise<Uint8Array | undefined>;
}

export function directorySource(dir: string): ImageSource {
  return {
    names: () => readdir(dir),
    read: (name) => readFile(path.join(dir, name)).catch(() => undefined),
  };
}
