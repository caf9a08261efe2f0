// The destination's side of a container migration (`freezedry receive`): before the source
// freezes anything, checks that runc is here, that the container's ID is free and that its
// veths have a bridge; then restores it with runc under the same ID, from the archive or
// lazily from the images, its memory pulled from the source.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { isFreezedryError } from '../errors.js';
import { unbundleImages } from '../migrate/image-bundle.js';
import type { Landing } from '../migrate/destination.js';
import type { Message, MessageChannel } from '../migrate/message-channel.js';
import { links, pinBridgeAddress } from '../migrate/bridge-address.js';
import { validateContainerId } from './bundle.js';
import { removeContainer } from './lifecycle.js';
import { CONTAINER_FILES, type ContainerHello } from './migrate.js';
import { restoreContainer } from './restore.js';
import { ROOTFS_DIFF } from './rootfs-diff.js';
import { Runc } from './runc.js';

export async function containerLanding(announced: unknown, options: { bridge?: string; runcRoot?: string }): Promise<Landing> {
  const hello = (announced ?? {}) as Partial<ContainerHello>;
  const refusals: string[] = [];
  let runc: Runc | undefined;
  try {
    validateContainerId(hello.id);
    runc = await Runc.open({ runcRoot: options.runcRoot });
    if (await runc.state(hello.id)) refusals.push(`a container '${hello.id}' exists here already (runc root ${runc.root})`);
  } catch (error) {
    refusals.push(isFreezedryError(error) ? error.message : String(error));
  }
  const here = new Set(links([]).filter((l) => l.linkinfo?.info_kind === 'bridge').map((l) => l.ifname));
  for (const veth of hello.network?.veths ?? []) {
    const bridge = options.bridge ?? veth.bridge;
    if (!bridge || !here.has(bridge)) {
      refusals.push(`the container's ${veth.name} was on bridge ${veth.bridge ?? '(none)'}, and ${bridge ? `${bridge} is not here` : 'none is named'}: start receive with one (--bridge)`);
    }
  }
  // A new port must not change this host's MAC on the bridge (see bridge-address.ts).
  if (refusals.length === 0) for (const veth of hello.network?.veths ?? []) pinBridgeAddress(options.bridge ?? (veth.bridge as string));
  const id = hello.id as string;
  const common = { id, runcRoot: options.runcRoot, bridge: options.bridge };
  return {
    refusals,
    restoreWhole: async (where, signal) => {
      if (!('archive' in where)) throw new Error('a container arrives as an archive or lazily');
      return restoreContainer({ ...common, archive: where.archive, signal });
    },
    receiveFiles: async (channel: MessageChannel, offer: Message, top: string) => {
      await mkdir(top, { recursive: true });
      const bytes = await channel.receiveBytes(Number(offer.size));
      const files = Array.isArray(offer.files) ? (offer.files as { name: string }[]) : [];
      if (!files.every((file) => CONTAINER_FILES.includes(file?.name))) throw new Error('unexpected container files from the source');
      await unbundleImages(offer.files, bytes, top);
      const diff = await channel.next('rootfs-diff');
      await channel.receiveFile(Number(diff.size), path.join(top, ROOTFS_DIFF));
    },
    restoreLazy: async (top, remotePages, signal) => {
      const restored = await restoreContainer({ ...common, imagesDir: top, lazy: true, remotePages, signal });
      return { pid: restored.pid, durationMs: restored.durationMs, fill: restored.lazy?.fill };
    },
    end: async () => {
      await removeContainer(id, { runcRoot: options.runcRoot, force: true });
    },
  };
}
