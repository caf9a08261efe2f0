// Container checkpoints of other engines (Podman's `container checkpoint --export`, CRI-O's
// for the kubelet): the same layout as freezedry's, one tar compressed as a whole, with the
// engine's own config.dump. Unpacked with the system's tar (which detects zstd and gzip).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { command } from '../process/command.js';
import { ErrorCode, FreezedryError } from '../errors.js';
import { CONFIG_DUMP, CONTAINER_FACTS, SPEC_DUMP } from './layout.js';
import { DELETED_FILES, ROOTFS_DIFF } from './rootfs-diff.js';

export interface ContainerDescription {
  engine: 'freezedry' | 'podman' | 'cri-o' | 'unknown';
  id?: string;
  name?: string;
  image?: string;
  runtime?: string;
  createdAt?: string;
  /** Bytes of rootfs-diff.tar, and how many paths deleted.files lists. */
  rootfsDiffBytes: number;
  deletedFiles: number;
  /** What the engine recorded of its network (Podman's network.status), as it is. */
  network?: unknown;
}

/** Unpacks a foreign checkpoint archive (no absolute paths or '..', no owners kept) into dir. */
export async function unpackForeign(file: string, dir: string): Promise<void> {
  const result = await command('tar', ['-xf', file, '-C', dir, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir'], { reject: false });
  if (result.exitCode !== 0) {
    throw new FreezedryError(ErrorCode.ARCHIVE_FORMAT, `${file} is neither a freezedry archive nor a container checkpoint tar: ${result.stderr.trim().split('\n')[0]}`, {
      path: file,
    });
  }
}

/** Who made a container checkpoint directory, and what its container was. */
export async function describeContainerDir(dir: string): Promise<ContainerDescription> {
  const json = async (name: string): Promise<Record<string, unknown> | undefined> =>
    readFile(path.join(dir, name), 'utf8').then(
      (text) => JSON.parse(text) as Record<string, unknown>,
      () => undefined,
    );
  const size = async (name: string) => (await stat(path.join(dir, name)).catch(() => undefined))?.size ?? 0;
  const deleted = await readFile(path.join(dir, DELETED_FILES), 'utf8').then((t) => (JSON.parse(t) as unknown[]).length, () => 0);
  const base = { rootfsDiffBytes: await size(ROOTFS_DIFF), deletedFiles: deleted };

  const ours = await json(CONTAINER_FACTS);
  if (ours) return { ...base, engine: 'freezedry', id: ours.id as string, createdAt: ours.createdAt as string | undefined };
  const config = await json(CONFIG_DUMP);
  const spec = await json(SPEC_DUMP);
  const annotations = (spec?.annotations ?? {}) as Record<string, string>;
  const network = await json('network.status');
  if (config && 'rootfsImageName' in config) {
    return {
      ...base,
      engine: 'podman',
      id: config.id as string,
      name: config.name as string,
      image: (config.rootfsImageName ?? config.RawImageName) as string,
      runtime: config.runtime as string,
      createdAt: config.createdTime as string,
      network,
    };
  }
  if (Object.keys(annotations).some((key) => key.startsWith('io.kubernetes.cri-o.'))) {
    return {
      ...base,
      engine: 'cri-o',
      id: annotations['io.kubernetes.cri-o.ContainerID'],
      name: annotations['io.kubernetes.cri-o.ContainerName'] ?? annotations['io.kubernetes.container.name'],
      image: annotations['io.kubernetes.cri-o.ImageName'] ?? annotations['io.kubernetes.cri-o.Image'],
      createdAt: annotations['io.kubernetes.cri-o.Created'],
      network,
    };
  }
  return { ...base, engine: 'unknown', network };
}
