// A Linux bridge without an address of its own takes the lowest MAC among its ports, so a
// migration that plugs a tree's veth into a bridge (the destination) or ends the tree whose veth
// was on one (the source) can change the host's own MAC on that bridge. Its peers keep the old
// one in their ARP caches and the host stops answering them for a while (seen: the next
// migration's "no answer within 10000 ms"). Pinning the bridge to the address it has now keeps
// the host reachable and changes nothing else; pinning twice is harmless.
import { execFileSync } from 'node:child_process';
import { hasOwnNetns } from '../process/proc.js';
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';

/** A MAC address as `ip` prints it (aa:bb:cc:dd:ee:ff). */
export const MAC_ADDRESS = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export interface Link {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu?: number;
  master?: string;
  link_index?: number;
  linkinfo?: { info_kind?: string };
}

// Through netlink (ip), not /sys: sysfs shows the network namespace it was mounted in, which
// is not ours under `nsenter --net`.
// `inside`: a pid whose network namespace to look into, or the path of one.
export function links(args: string[], inside?: number | string): Link[] {
  const argv = ['ip', '-j', '-d', 'link', 'show', ...args];
  const command = inside === undefined ? argv : ['nsenter', `--net=${typeof inside === 'number' ? `/proc/${inside}/ns/net` : inside}`, ...argv];
  return JSON.parse(execFileSync(command[0] as string, command.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Link[];
}

/** Sets the bridge's MAC to the one it has now, which the kernel then never recalculates. */
export function pinBridgeAddress(bridge: string): void {
  const link = links(['dev', bridge]).find((l) => l.ifname === bridge);
  if (!link?.address || link.linkinfo?.info_kind !== 'bridge') {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `${bridge} is not a bridge here`, { bridge });
  }
  try {
    execFileSync('ip', ['link', 'set', 'dev', bridge, 'address', link.address], { stdio: 'pipe' });
  } catch (cause) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `cannot pin the address of bridge ${bridge}: ${(cause as Error).message}`, { cause });
  }
}

/** The veths of `pid`'s own network namespace ([] when it shares ours). */
export function vethsOfTree(pid: number): Link[] {
  try {
    if (!hasOwnNetns(pid)) return [];
    return links(['type', 'veth'], pid);
  } catch (cause) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `cannot list the network devices of pid ${pid}: ${(cause as Error).message}`, { cause });
  }
}

/** The bridges here that hold one of these outer ends (outerEnds() of a tree's veths). */
export function bridgesOf(outer: Map<string, Link>): string[] {
  return [...new Set([...outer.values()].flatMap((end) => end.master ?? []))];
}

/** The outer end here of each veth of another namespace, by the inner end's name. */
export function outerEnds(veths: Link[]): Map<string, Link> {
  if (veths.length === 0) return new Map();
  const here = links([]);
  const ends = new Map<string, Link>();
  for (const veth of veths) {
    // Its peer here: our index is its link, and our link is its index.
    const peer = here.find((l) => veth.link_index === l.ifindex && l.link_index === veth.ifindex);
    if (peer) ends.set(veth.ifname, peer);
  }
  return ends;
}
