// Where the local checkpoint store is, in a module of its own: the CLI's help names it without
// loading the store (and, through it, the archive reader).
import path from 'node:path';

export const DEFAULT_STORE = '/var/lib/freezedry/checkpoints';

export function storeRoot(root?: string): string {
  return path.resolve(root ?? process.env.FREEZEDRY_STORE ?? DEFAULT_STORE);
}
