// The destination's side of a container migration (`freezedry receive`): before the source
// freezes anything, checks that runc is here, that the container's ID is free, its rootfs here
// and its veths' bridges, and prepares its bundle (overlay, network namespace, veths off their
// bridges), so that the freeze only waits for runc's restore; then restores it under the same
// ID, from the archive or lazily from the images, its memory pulled from the source.
import path from 'node:path';
import { isFreezedryError } from '../errors.js';
import { receiveImages } from '../migrate/image-bundle.js';
import type { Landing } from '../migrate/landing.js';
import type { Message, MessageChannel } from '../migrate/message-channel.js';
import { links, pinBridgeAddress } from '../migrate/bridge-address.js';
import { removeBundle, validateContainerId } from './bundle.js';
import { removeContainer } from './lifecycle.js';
import { CONTAINER_FILES, type ContainerHello } from './migrate.js';
import { prepareBundle, restoreContainer, type PreparedBundle } from './restore.js';
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
  for (const veth of hello.facts?.network?.veths ?? []) {
    const bridge = options.bridge ?? veth.bridge;
    if (!bridge || !here.has(bridge)) {
      refusals.push(`the container's ${veth.name} was on bridge ${veth.bridge ?? '(none)'}, and ${bridge ? `${bridge} is not here` : 'none is named'}: start receive with one (--bridge)`);
    }
  }
  const id = hello.id as string;
  let prepared: PreparedBundle | undefined;
  if (refusals.length === 0 && runc && hello.facts && hello.spec) {
    // A new port must not change this host's MAC on the bridge (see bridge-address.ts).
    for (const veth of hello.facts.network?.veths ?? []) pinBridgeAddress(options.bridge ?? (veth.bridge as string));
    prepared = await prepareBundle(runc, { id, facts: hello.facts, spec: hello.spec, bridge: options.bridge, restoredFrom: 'a migration' }).catch((error: unknown) => {
      refusals.push(isFreezedryError(error) ? error.message : String(error));
      return undefined;
    });
  } else if (refusals.length === 0) {
    refusals.push('the source described no container (an older freezedry?)');
  }
  const common = { id, runcRoot: options.runcRoot, bridge: options.bridge, prepared };
  return {
    refusals,
    restoreWhole: async (where, signal) => {
      if (!('archive' in where)) throw new Error('a container arrives as an archive or lazily');
      return restoreContainer({ ...common, archive: where.archive, signal });
    },
    receiveFiles: async (channel: MessageChannel, offer: Message, top: string) => {
      const files = Array.isArray(offer.files) ? (offer.files as { name: string }[]) : [];
      if (!files.every((file) => CONTAINER_FILES.includes(file?.name))) throw new Error('unexpected container files from the source');
      await receiveImages(channel, offer, top);
      const diff = await channel.next('rootfs-diff');
      await channel.receiveFile(diff.size, path.join(top, ROOTFS_DIFF));
    },
    restoreLazy: async (top, remotePages, signal) => {
      const restored = await restoreContainer({ ...common, imagesDir: top, lazy: true, remotePages, signal });
      return { pid: restored.pid, durationMs: restored.durationMs, fill: restored.lazy?.fill };
    },
    // Where the frames the source held while it was frozen go in (frame-replay.ts).
    outerVeths: () => prepared?.network?.outerEnds ?? new Map(),
    end: async () => {
      await removeContainer(id, { runcRoot: options.runcRoot, force: true });
    },
    // A prepared bundle that never held the container (the migration failed before its restore).
    discard: async () => {
      if (prepared && runc && !(await runc.state(id))) await removeBundle(id);
    },
  };
}
