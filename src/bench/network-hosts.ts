// Hosts for tests and benchmarks on one machine: network namespaces on one LAN segment, with
// addresses from the benchmarking range 198.18.0.0/15 (RFC 2544).
//   a, b:   hosts joined by a veth pair (the link tc shapes), each with a bridge `br0` that
//           holds its end of the link and its address, so a service's own namespace can be
//           plugged into either host's bridge and keep its address when it moves;
//   client: a third host, plugged into a's bridge, from which clients reach the services.
// Commands run in a host with nsenter --net, which (unlike `ip netns exec`) keeps the mount
// namespace, so CRIU sees ordinary mounts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { undoIfInterrupted } from './interrupt.js';

export const HOST_BRIDGE = 'br0';

export interface TestHost {
  name: string;
  address: string;
  /** argv prefix that runs a command inside this host. */
  prefix: string[];
  spawn(command: string[], options?: { stdio?: ('ignore' | 'pipe')[] }): ChildProcess;
  run(command: string[]): string;
}

export interface HostPair {
  a: TestHost;
  b: TestHost;
  client: TestHost;
  /**
   * Plugs the network namespace of `pid` (started with `run --net`) into `host`'s bridge as
   * eth0 with the next free service address, and returns that address.
   */
  attachService(host: TestHost, pid: number): string;
  /** Takes the a–b link down (up again with `false`): packets in flight are lost, no peer hears a close. */
  cutLink(cut?: boolean): void;
  destroy(): void;
}

/** `rate` (e.g. '1gbit') shapes the a–b link both ways with a token bucket, `delay` adds latency. */
export function createHosts(shape: { rate?: string; delay?: string } = {}): HostPair {
  const id = randomInt(1, 60000);
  const subnet = `198.19.${id % 250}`;
  const [na, nb, nc] = [`fzA${id}`, `fzB${id}`, `fzC${id}`];
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const forget = undoIfInterrupted(destroy);
  for (const ns of [na, nb, nc]) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  for (const [ns, address] of [[na, `${subnet}.1`], [nb, `${subnet}.2`]] as const) {
    ip('-n', ns, 'link', 'add', HOST_BRIDGE, 'type', 'bridge');
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', HOST_BRIDGE);
    ip('-n', ns, 'link', 'set', HOST_BRIDGE, 'up');
  }
  const plug = (ns: string, dev: string) => {
    ip('-n', ns, 'link', 'set', dev, 'master', HOST_BRIDGE);
    ip('-n', ns, 'link', 'set', dev, 'up');
  };
  // The a–b link.
  ip('link', 'add', `va${id}`, 'type', 'veth', 'peer', 'name', `vb${id}`);
  ip('link', 'set', `va${id}`, 'netns', na);
  ip('link', 'set', `vb${id}`, 'netns', nb);
  plug(na, `va${id}`);
  plug(nb, `vb${id}`);
  for (const [ns, dev] of [[na, `va${id}`], [nb, `vb${id}`]] as const) {
    if (shape.delay) {
      execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'netem', 'delay', shape.delay]);
      if (shape.rate) execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'parent', '1:1', 'handle', '10:', 'tbf', 'rate', shape.rate, 'burst', '1mb', 'latency', '50ms']);
    } else if (shape.rate) {
      execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', shape.rate, 'burst', '1mb', 'latency', '50ms']);
    }
  }
  // The client host, on a's bridge.
  ip('link', 'add', `vc${id}`, 'type', 'veth', 'peer', 'name', `vcA${id}`);
  ip('link', 'set', `vc${id}`, 'netns', nc);
  ip('link', 'set', `vcA${id}`, 'netns', na);
  plug(na, `vcA${id}`);
  ip('-n', nc, 'addr', 'add', `${subnet}.3/24`, 'dev', `vc${id}`);
  ip('-n', nc, 'link', 'set', `vc${id}`, 'up');

  const host = (name: string, address: string): TestHost => {
    const prefix = ['nsenter', `--net=/run/netns/${name}`];
    return {
      name,
      address,
      prefix,
      spawn: (command, options = {}) => spawn(prefix[0] as string, [...prefix.slice(1), ...command], { stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'] }),
      run: (command) => execFileSync(prefix[0] as string, [...prefix.slice(1), ...command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    };
  };
  let services = 0;
  function destroy(): void {
    forget();
    for (const ns of [na, nb, nc]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }

  return {
    a: host(na, `${subnet}.1`),
    b: host(nb, `${subnet}.2`),
    client: host(nc, `${subnet}.3`),
    attachService(target, pid) {
      const address = `${subnet}.${10 + services++}`;
      const outer = `fzs${id}x${services}`.slice(0, 15);
      ip('-n', target.name, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid));
      plug(target.name, outer);
      const inside = (...args: string[]) => execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', ...args], { stdio: 'pipe' });
      inside('addr', 'add', `${address}/24`, 'dev', 'eth0');
      inside('link', 'set', 'eth0', 'up');
      return address;
    },
    cutLink(cut = true) {
      ip('-n', na, 'link', 'set', `va${id}`, cut ? 'down' : 'up');
      ip('-n', nb, 'link', 'set', `vb${id}`, cut ? 'down' : 'up');
    },
    destroy,
  };
}
