// The names in a container checkpoint, as Podman, CRI-O and checkpointctl lay one out (a
// directory or a tar), plus freezedry's own facts about the container.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { NetworkFacts } from './network.js';

export const CHECKPOINT_DIR = 'checkpoint';
export const CHECKPOINT_PREFIX = `${CHECKPOINT_DIR}/`;
export const SPEC_DUMP = 'spec.dump';
export const CONFIG_DUMP = 'config.dump';
export const CONTAINER_FACTS = 'freezedry-container.json';

/** What a restore needs to know beyond the spec (also in the manifest of a container archive). */
export interface ContainerFacts {
  /** Who made the checkpoint: freezedry, or Podman (an export restored with its facts derived). */
  engine: 'freezedry' | 'podman';
  id: string;
  /** When the container was created (tells the original's bundle from another of the same ID). */
  createdAt?: string;
  /** The rootfs the container ran over, and its fingerprint (checked before a restore over one). */
  rootfs: { path?: string; fingerprint?: string; included: boolean };
  net: boolean;
  /** Its own network namespace's veths and routes, which a restore rebuilds. */
  network?: NetworkFacts;
  args: string[];
  criuOptions: { tcpEstablished: boolean; fileLocks: boolean };
  rootfsChanges: { changed: number; deleted: number };
}

export async function readFacts(dir: string): Promise<ContainerFacts | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, CONTAINER_FACTS), 'utf8')) as ContainerFacts;
  } catch {
    return undefined;
  }
}
