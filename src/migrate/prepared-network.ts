// A migrating tree's own network namespace, made at the destination before the freeze.
// CRIU would otherwise save the namespace while the tree is frozen (ip addr/route/rule save,
// four iptables saves: ~28 ms here) and make it again while it is restored (the matching
// restores: ~23 ms). When the namespace holds only what freezedry can rebuild (loopback and
// veths, their MACs, MTUs, addresses and routes; no firewall rule and no routing rule of its
// own), the destination builds it when the source says hello, the source's CRIU dumps it as
// external (its key only), and the destination's CRIU restores the tree into it. Anything
// else, and CRIU carries the namespace as before.
import { execFile } from 'node:child_process';
import { openSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildNetwork, createNetns, describeNetwork, removeNetns, type BuiltNetwork, type NetworkFacts, type RouteFacts, type VethFacts } from '../container/network.js';
import { startCriu, type StartedCriu } from '../criu/operation.js';
import { FIRST_INHERITED_FD } from '../criu/session.js';
import { links, MAC_ADDRESS } from './bridge-address.js';

const run = promisify(execFile);

/** The key under which CRIU's images name the external namespace, and its restore finds it. */
const NETNS_KEY = 'freezedry-netns';

/** A namespace the destination may build: its facts, or why CRIU must carry it. */
export type PlainNetwork = { facts: NetworkFacts } | { reason: string };

/**
 * Reads `pid`'s namespace (before anything freezes): its facts when it is plain, else the
 * first thing found that freezedry would not rebuild.
 */
export async function plainNetwork(pid: number): Promise<PlainNetwork> {
  const ns = `/proc/${pid}/ns/net`;
  const odd = links([], ns).find((link) => link.ifname !== 'lo' && link.linkinfo?.info_kind !== 'veth');
  if (odd) return { reason: `it has ${odd.ifname} (${odd.linkinfo?.info_kind ?? 'a device'}), not only veths` };
  const inside = async (argv: string[]) => (await run('nsenter', [`--net=${ns}`, ...argv], { encoding: 'utf8' }).catch(() => ({ stdout: '' }))).stdout;
  // Rules under either iptables (its nft backend and the legacy one), for IPv4 or IPv6.
  for (const tool of ['iptables-save', 'ip6tables-save', 'iptables-legacy-save', 'ip6tables-legacy-save']) {
    if (/^-A /m.test(await inside([tool]))) return { reason: `it has firewall rules (${tool})` };
  }
  // The kernel's own: 0 (local), 32766 (main), 32767 (default), and their IPv6 pair.
  const rules = JSON.parse((await inside(['ip', '-j', 'rule', 'show'])) || '[]') as { priority?: number }[];
  if (rules.some((rule) => ![0, 32766, 32767].includes(rule.priority ?? -1))) return { reason: 'it has routing rules of its own' };
  return { facts: await describeNetwork(pid) };
}

/** CRIU's --external entry that dumps `pid`'s network namespace as its key only. */
export function externalNetns(pid: number): string {
  return `net[${statSync(`/proc/${pid}/ns/net`).ino}]:${NETNS_KEY}`;
}

/**
 * A `criu swrk` for the restore of a tree whose namespace was dumped external: it inherits the
 * namespace bound at `file` under the key, where its restore puts the tree.
 */
export function startCriuInNetns(criuPath: string, file: string): StartedCriu {
  const started = startCriu(criuPath, { inheritFds: [openSync(file, 'r')] });
  return { ...started, inherit: [{ key: NETNS_KEY, fd: FIRST_INHERITED_FD }] };
}

/** At the destination: the tree's namespace, built and bound to `file`, its veths off their bridge. */
export interface PreparedNetwork {
  file: string;
  built: BuiltNetwork;
  /** Unbinds the namespace (it lives on while a restored tree is in it). */
  release(): Promise<void>;
}

/**
 * Builds, in `dir`, the namespace the source described (`announced`, untrusted: checked here),
 * its veths' outer ends left off `bridge` until the tree runs (BuiltNetwork.plug). Undefined,
 * with why in the log, when it cannot: CRIU then carries the namespace.
 */
export async function prepareNetwork(announced: unknown, dir: string, bridge: string, log: (line: string) => void): Promise<PreparedNetwork | undefined> {
  if (announced === undefined) return undefined; // the source found it not plain (or is older)
  const facts = checkedNetworkFacts(announced);
  if (!facts) {
    log("the source's description of the tree's network namespace is malformed: CRIU restores it");
    return undefined;
  }
  const file = path.join(dir, 'netns');
  try {
    await createNetns(file);
    const built = await buildNetwork(file, facts, bridge);
    return { file, built, release: () => removeNetns(file) };
  } catch (error) {
    await removeNetns(file).catch(() => {});
    log(`could not build the tree's network namespace ahead (${(error as Error).message}): CRIU restores it`);
    return undefined;
  }
}

const NAME = /^\w[\w.-]{0,14}$/; // no leading dash: ip would read it as an option
const CIDR = /^[0-9a-f.:]{2,39}\/\d{1,3}$/i;
const ROUTE_DST = /^(default|[0-9a-f.:]{2,39}(\/\d{1,3})?)$/i;
const ADDRESS = /^[0-9a-f.:]{2,39}$/i;

const matches = (value: unknown, pattern: RegExp) => typeof value === 'string' && pattern.test(value);
const isVeth = (v: VethFacts) =>
  matches(v?.name, NAME) && matches(v.mac, MAC_ADDRESS) && Number.isInteger(v.mtu) && v.mtu >= 68 && v.mtu <= 65535 &&
  Array.isArray(v.addresses) && v.addresses.length <= 64 && v.addresses.every((a) => matches(a, CIDR));
const isRoute = (r: RouteFacts) => matches(r?.dst, ROUTE_DST) && matches(r.dev, NAME) && (r.gateway === undefined || matches(r.gateway, ADDRESS));

/** The facts as announced when every field is of the form describeNetwork() makes, else undefined. */
export function checkedNetworkFacts(announced: unknown): NetworkFacts | undefined {
  const facts = announced as NetworkFacts | undefined;
  if (!Array.isArray(facts?.veths) || !Array.isArray(facts.routes)) return undefined;
  if (facts.veths.length === 0 || facts.veths.length > 16 || facts.routes.length > 256) return undefined;
  if (!facts.veths.every(isVeth) || !facts.routes.every(isRoute)) return undefined;
  return {
    veths: facts.veths.map(({ name, mac, mtu, addresses }) => ({ name, mac, mtu, addresses })),
    routes: facts.routes.map(({ dst, gateway, dev }) => ({ dst, gateway, dev })),
  };
}
