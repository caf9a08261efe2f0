// Where image files are read from: a directory, an archive, or memory.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { readSmallFile } from './image-file.js';

export interface ImageSource {
  names(): Promise<string[]>;
  /** The file's bytes, or undefined when there is no such image. */
  read(name: string): Promise<Uint8Array | undefined>;
}

/** Metadata images only (pages images are read by the addon): read synchronously, as readSmallFile says why. */
export function directorySource(dir: string): ImageSource {
  return {
    names: () => readdir(dir),
    read: async (name) => {
      try {
        return readSmallFile(path.join(dir, name));
      } catch {
        return undefined;
      }
    },
  };
}
