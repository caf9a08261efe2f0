// Hosts for tests and benchmarks on one machine: two network namespaces joined by a veth pair, with addresses from
// the benchmarking range 198.18.0.0/15 (RFC 2544). Commands run in a host with nsenter --net,
// which (unlike `ip netns exec`) keeps the mount namespace, so CRIU sees ordinary mounts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';

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
  destroy(): void;
}

/** Two hosts; `rate` (e.g. '1gbit') shapes the link both ways with a token bucket, `delay` adds latency. */
export function createHosts(shape: { rate?: string; delay?: string } = {}): HostPair {
  const id = randomInt(1, 60000);
  const octet = id % 250;
  const third = Math.floor(id / 250) % 250;
  const [na, nb] = [`fzA${id}`, `fzB${id}`];
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  ip('netns', 'add', na);
  ip('netns', 'add', nb);
  ip('link', 'add', `va${id}`, 'type', 'veth', 'peer', 'name', `vb${id}`);
  ip('link', 'set', `va${id}`, 'netns', na);
  ip('link', 'set', `vb${id}`, 'netns', nb);
  const base = `198.18.${third}.${octet - (octet % 4)}`;
  const [prefixA, prefixB] = [base.replace(/\d+$/, (n) => String(Number(n) + 1)), base.replace(/\d+$/, (n) => String(Number(n) + 2))];
  ip('-n', na, 'addr', 'add', `${prefixA}/30`, 'dev', `va${id}`);
  ip('-n', nb, 'addr', 'add', `${prefixB}/30`, 'dev', `vb${id}`);
  for (const [ns, dev] of [[na, `va${id}`], [nb, `vb${id}`]] as const) {
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    if (shape.delay) {
      const netem = ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'netem', 'delay', shape.delay];
      execFileSync('tc', netem);
      if (shape.rate) execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'parent', '1:1', 'handle', '10:', 'tbf', 'rate', shape.rate, 'burst', '1mb', 'latency', '50ms']);
    } else if (shape.rate) {
      execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', shape.rate, 'burst', '1mb', 'latency', '50ms']);
    }
  }
  const host = (name: string, address: string): TestHost => {
    const prefix = ['nsenter', `--net=/run/netns/${name}`];
    return {
      name,
      address,
      prefix,
      spawn: (command, options = {}) => spawn(prefix[0] as string, [...prefix.slice(1), ...command], { stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'] }),
      run: (command) => execFileSync(prefix[0] as string, [...prefix.slice(1), ...command], { encoding: 'utf8' }),
    };
  };
  return {
    a: host(na, prefixA),
    b: host(nb, prefixB),
    destroy() {
      for (const ns of [na, nb]) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // already gone
        }
      }
    },
  };
}
