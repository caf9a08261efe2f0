// Container checkpoints of other engines (Podman's `container checkpoint --export`, CRI-O's
// for the kubelet): the same layout as freezedry's, one tar compressed as a whole, with the
// engine's own config.dump. Unpacked with the system's tar (which detects zstd and gzip).
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { command } from '../process/command.js';
import { ErrorCode, FreezedryError } from '../errors.js';
import { CONFIG_DUMP, CONTAINER_FACTS, SPEC_DUMP, type ContainerFacts } from './layout.js';
import { networkNamespaceOf, type OciSpec } from './spec.js';
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

/**
 * What a restore needs to know of another engine's checkpoint directory, as freezedry records
 * it for its own. Podman's exports restore (their images were made by runc); CRI-O's bind the
 * pod's volumes, secrets and service-account tokens from the kubelet's directories, which only
 * CRI-O can give back, so they do not. The rootfs is the image's, given by the caller.
 */
export async function foreignFacts(dir: string): Promise<ContainerFacts> {
  const described = await describeContainerDir(dir);
  if (described.engine !== 'podman') {
    throw new FreezedryError(
      ErrorCode.UNSUPPORTED_CHECKPOINT,
      described.engine === 'cri-o'
        ? `${dir} is a CRI-O (Kubernetes) checkpoint: its spec binds the pod's volumes, secrets and tokens from the kubelet's directories, which only CRI-O can provide; restore it with CRI-O`
        : `${dir} holds no container checkpoint freezedry knows (no ${CONTAINER_FACTS}, and not Podman's)`,
      { path: dir, engine: described.engine },
    );
  }
  if (described.runtime && !/(^|\/)runc$/.test(described.runtime)) {
    throw new FreezedryError(ErrorCode.UNSUPPORTED_CHECKPOINT, `${dir} was made by Podman with ${described.runtime}; freezedry restores with runc, so only checkpoints made with --runtime runc`, {
      path: dir,
    });
  }
  const spec = JSON.parse(await readFile(path.join(dir, SPEC_DUMP), 'utf8')) as OciSpec;
  const network = networkNamespaceOf(spec);
  return {
    engine: 'podman',
    id: described.name ?? (described.id as string),
    createdAt: described.createdAt,
    rootfs: { included: false },
    // A namespace Podman's network made (a path) comes back as one freezedry makes, loopback
    // only; one runc made (--network none) as runc and CRIU make it.
    net: network?.path !== undefined,
    args: spec.process.args,
    criuOptions: { tcpEstablished: false, fileLocks: false },
    rootfsChanges: { changed: described.rootfsDiffBytes > 0 ? 1 : 0, deleted: described.deletedFiles },
  };
}


/**
 * The engine's own files a foreign spec binds into the container (Podman's hostname, hosts,
 * .containerenv, /dev/shm…) are not on this host: each is made anew in the bundle (`dir`),
 * /dev/shm with what the export saved of it, and the spec points there. Returns the new spec.
 */
export async function provideEngineMounts(spec: OciSpec, checkpointDir: string, bundleDir: string): Promise<OciSpec> {
  const mounts = ((spec.mounts ?? []) as { destination: string; type?: string; source?: string; options?: string[] }[]).map((m) => ({ ...m }));
  const engineDir = path.join(bundleDir, 'engine');
  let made = 0;
  for (const mount of mounts) {
    const bind = mount.type === 'bind' || mount.options?.includes('bind') || mount.options?.includes('rbind');
    if (!bind || !mount.source || (await stat(mount.source).catch(() => undefined))) continue;
    await mkdir(engineDir, { recursive: true });
    const name = path.basename(mount.destination) || 'root';
    const target = path.join(engineDir, `${made++}-${name}`);
    if (mount.destination === '/dev/shm' || /secrets$/.test(mount.destination)) {
      await mkdir(target, { mode: 0o1777 });
      const saved = path.join(checkpointDir, 'devshm-checkpoint.tar');
      if (mount.destination === '/dev/shm' && (await stat(saved).catch(() => undefined))) await unpackForeign(saved, target);
    } else {
      const content =
        mount.destination === '/etc/hostname'
          ? `${String(spec.hostname ?? 'container')}\n`
          : mount.destination === '/etc/hosts'
            ? `127.0.0.1\tlocalhost\n::1\tlocalhost\n`
            : mount.destination === '/etc/resolv.conf'
              ? await readFile('/etc/resolv.conf', 'utf8').catch(() => '')
              : '';
      await writeFile(target, content, { mode: 0o644 });
    }
    mount.source = target;
  }
  return { ...spec, mounts };
}
