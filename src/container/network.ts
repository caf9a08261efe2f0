// A container's own network namespace. runc never saves a namespace's devices (it restores an
// empty one), so, as Podman does with its network plugins, freezedry makes the namespace
// itself, bound to a file in the bundle, and hands runc its path: runc then marks it external
// to CRIU, and freezedry rebuilds it on restore from what the checkpoint recorded: loopback,
// and each veth with its MAC, MTU and addresses, its outer end on the same bridge, and the
// routes. A service keeps its address and MAC, so its clients' connections and ARP caches hold.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { command } from '../process/command.js';
import { ErrorCode, FreezedryError } from '../errors.js';
import { links, outerEnds, type Link } from '../migrate/bridge-address.js';

export interface VethFacts {
  /** The inner end's name (eth0). */
  name: string;
  mac: string;
  mtu: number;
  /** CIDR addresses (198.18.0.10/24). */
  addresses: string[];
  /** The bridge its outer end was on, where it had one. */
  bridge?: string;
}

export interface RouteFacts {
  dst: string;
  gateway?: string;
  dev: string;
}

export interface NetworkFacts {
  veths: VethFacts[];
  /** Routes beyond those the kernel makes for the addresses. */
  routes: RouteFacts[];
}

/** A new network namespace bound to `file`, loopback up (runc would leave it down). */
export async function createNetns(file: string): Promise<void> {
  await writeFile(file, '', { flag: 'wx', mode: 0o600 });
  try {
    await command('unshare', [`--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (cause) {
    await removeNetns(file);
    throw new FreezedryError(ErrorCode.RUNC_FAILED, `Could not create a network namespace at ${file}: ${(cause as Error).message}`, { cause });
  }
}

/** Unbinds and removes the namespace file; its veths go with the namespace once nothing uses it. */
export async function removeNetns(file: string): Promise<void> {
  if (!existsSync(file)) return;
  await command('umount', [file], { reject: false });
  await rm(file, { force: true });
}

/** What `inside` (a namespace file or a pid in it) holds, for a restore to rebuild. */
export async function describeNetwork(inside: string | number): Promise<NetworkFacts> {
  const ns = typeof inside === 'number' ? `/proc/${inside}/ns/net` : inside;
  const ip = async (...args: string[]) => JSON.parse((await command('nsenter', [`--net=${ns}`, 'ip', '-j', ...args])).stdout || '[]') as unknown;
  const veths = links(['type', 'veth'], ns);
  const outer = outerEnds(veths);
  const addresses = (await ip('addr', 'show')) as { ifname: string; addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[] }[];
  const routes = (await ip('route', 'show')) as { dst: string; gateway?: string; dev: string; protocol?: string }[];
  return {
    veths: veths.map((veth: Link & { mtu?: number }) => ({
      name: veth.ifname,
      mac: veth.address ?? '',
      mtu: veth.mtu ?? 1500,
      addresses: (addresses.find((a) => a.ifname === veth.ifname)?.addr_info ?? [])
        .filter((a) => a.family === 'inet' || (a.family === 'inet6' && a.scope === 'global'))
        .map((a) => `${a.local}/${a.prefixlen}`),
      bridge: outer.get(veth.ifname)?.master,
    })),
    routes: routes.filter((r) => r.protocol !== 'kernel').map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev })),
  };
}

/**
 * Rebuilds the recorded veths in the namespace at `file`, for their outer ends to go on their
 * bridges here (`bridge` overrides the recorded one) once the container's sockets are restored
 * (plug()): a packet of a client's that came earlier would find no socket and reset its
 * connection. A bridge that is not here is ERR_INCOMPATIBLE_HOST.
 */
export async function buildNetwork(file: string, facts: NetworkFacts, bridge?: string): Promise<BuiltNetwork> {
  const inside = (...args: string[]) => command('nsenter', [`--net=${file}`, 'ip', ...args]);
  const ends: [string, string][] = [];
  const outerEnds = new Map<string, string>();
  for (const veth of facts.veths) {
    const master = bridge ?? veth.bridge;
    if (master === undefined || !links([]).some((l) => l.ifname === master && l.linkinfo?.info_kind === 'bridge')) {
      throw new FreezedryError(
        ErrorCode.INCOMPATIBLE_HOST,
        `The container's ${veth.name} was plugged into bridge ${master ?? '(none)'}, which this host lacks: name one that is here (bridge, --bridge)`,
        { bridge: master },
      );
    }
    const outer = `fz${randomBytes(5).toString('hex')}`;
    await command('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', veth.name, 'netns', file]);
    await inside('link', 'set', veth.name, 'address', veth.mac, 'mtu', String(veth.mtu));
    for (const address of veth.addresses) await inside('addr', 'add', address, 'dev', veth.name);
    await inside('link', 'set', veth.name, 'up');
    await command('ip', ['link', 'set', outer, 'up']);
    ends.push([outer, master]);
    outerEnds.set(veth.name, outer);
  }
  for (const route of facts.routes) {
    await inside('route', 'add', route.dst, ...(route.gateway ? ['via', route.gateway] : []), 'dev', route.dev);
  }
  // What the restored sockets send first (the window probes CRIU's restore ends with, replies)
  // goes out before plug(), so its ARP request is lost and the packets wait for the next one:
  // a second later by default. Until plug(), ARP asks again every 20 ms, and longer.
  const arp = (dev: string, retransMs: number, probes: number) =>
    inside('ntable', 'change', 'name', 'arp_cache', 'dev', dev, 'retrans', String(retransMs), 'mcast_probes', String(probes));
  const usual = new Map<string, { retransMs: number; probes: number }>();
  for (const veth of facts.veths) {
    // Only quicker when it works: an ip without ntable leaves the usual second.
    const shown = await inside('ntable', 'show', 'name', 'arp_cache', 'dev', veth.name).catch(() => undefined);
    const retransMs = Number(/retrans (\d+)/.exec(shown?.stdout ?? '')?.[1]);
    const probes = Number(/mcast_probes (\d+)/.exec(shown?.stdout ?? '')?.[1]);
    if (!(retransMs > 0 && probes > 0)) continue;
    if (await arp(veth.name, 20, 50).then(() => true, () => false)) usual.set(veth.name, { retransMs, probes });
  }
  return {
    outerEnds,
    plug: async () => {
      for (const [outer, master] of ends) await command('ip', ['link', 'set', outer, 'master', master]);
      // The probe already due in 20 ms reaches the peers now; later ones as usual, set while the
      // container already answers (nothing waits for it but who asks).
      const usualArp = Promise.all([...usual].map(([dev, { retransMs, probes }]) => arp(dev, retransMs, probes).catch(() => {}))).then(() => {});
      return { usualArp };
    },
  };
}

export interface BuiltNetwork {
  /** The name here of each veth's outer end, by its name inside. */
  outerEnds: Map<string, string>;
  /** Plugs the veths into their bridges; `usualArp` settles once ARP asks at its usual pace again. */
  plug(): Promise<{ usualArp: Promise<void> }>;
}

/**
 * The outer ends of the namespace's veths that are on bridges, read before anything stops:
 * which to take off while the container is paused (so that nothing reaches it, no packet its
 * kernel would acknowledge while its images are on their way, nor its duplicate on another
 * host), and how to plug them back or cut them.
 */
export function bridgedVeths(inside: string | number): BridgedVeths {
  const ns = typeof inside === 'number' ? `/proc/${inside}/ns/net` : inside;
  const ends = [...outerEnds(links(['type', 'veth'], ns)).values()].filter((l) => l.master);
  return {
    pairs: ends.map((link) => `${link.ifname}=${link.master as string}`),
    replug: async () => {
      await Promise.all(ends.map((link) => command('ip', ['link', 'set', link.ifname, 'master', link.master as string], { reject: false })));
    },
    // Before the container ends: with its veths gone, no reset of its connections reaches a client.
    cut: async () => {
      await Promise.all(ends.map((link) => command('ip', ['link', 'del', link.ifname], { reject: false })));
    },
  };
}

export interface BridgedVeths {
  /** OUTER=BRIDGE for each veth on a bridge (what is taken off, and what a watchdog plugs back). */
  pairs: string[];
  replug(): Promise<void>;
  cut(): Promise<void>;
}
