// The local checkpoint store: named archives under one root, as `docker checkpoint ls/rm` keeps them.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Archive } from './archive/archive-reader.js';
import { ErrorCode, FreezedryError, ValidationError } from './errors.js';
import { storeRoot } from './store-root.js';

export { DEFAULT_STORE, storeRoot } from './store-root.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const SUFFIX = '.tar.zst';

export interface StoredCheckpoint {
  name: string;
  kind: 'process' | 'container';
  /** For a container: its ID when checkpointed. */
  container?: string;
  file: string;
  createdAt: string;
  bytes: number;
  /** The root pid on the host at dump time, and how many tasks the tree had. */
  pid?: number;
  tasks: number;
  command: string;
}

export function storePath(name: string, root?: string): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.endsWith(SUFFIX)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid checkpoint name '${name}': use letters, digits, '.', '_' and '-'`);
  }
  return path.join(storeRoot(root), `${name}${SUFFIX}`);
}

/** The archive path for a new named checkpoint (creating the store's directory). */
export async function newStoreEntry(name: string, root?: string): Promise<string> {
  const file = storePath(name, root);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  return file;
}

export async function findStored(name: string, root?: string): Promise<string> {
  const file = storePath(name, root);
  if (!(await stat(file).catch(() => undefined))) {
    throw new FreezedryError(ErrorCode.CHECKPOINT_NOT_FOUND, `No checkpoint named '${name}' in ${storeRoot(root)}`, { name });
  }
  return file;
}

export async function listCheckpoints(root?: string): Promise<StoredCheckpoint[]> {
  const dir = storeRoot(root);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(SUFFIX)).sort();
  const list: StoredCheckpoint[] = [];
  for (const fileName of names) {
    const file = path.join(dir, fileName);
    const name = fileName.slice(0, -SUFFIX.length);
    try {
      const archive = await Archive.open(file);
      const { manifest } = archive;
      list.push({
        name,
        kind: manifest.container ? 'container' : 'process',
        container: manifest.container?.id,
        file,
        createdAt: manifest.createdAt,
        bytes: archive.fileSize,
        pid: manifest.pid,
        tasks: manifest.summary.tasks.length,
        command: manifest.command ?? manifest.summary.tasks[0]?.comm ?? '',
      });
      archive.close();
    } catch (error) {
      list.push({ name, kind: 'process', file, createdAt: '', bytes: (await stat(file)).size, tasks: 0, command: `(unreadable: ${(error as Error).message})` });
    }
  }
  return list;
}

export async function removeCheckpoint(name: string, root?: string): Promise<string> {
  const file = await findStored(name, root);
  await rm(file);
  return file;
}
