// A container's network rebuilt for a restore: until its veths are on their bridges, ARP asks
// again every few milliseconds, so that what the restored sockets send first (CRIU's window
// probes, a reply) is not held for the usual second behind an ARP request that went nowhere;
// once plugged, the namespace's usual ARP timing is back.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildNetwork, createNetns, removeNetns } from '../../src/container/network.js';
import { removeDir, tempDir } from '../helpers/workloads.js';

const root = process.getuid?.() === 0;
const bridge = `fzt${process.pid % 100000}`;

describe.runIf(root)('a container network rebuilt for a restore', () => {
  let dir = '';
  afterAll(async () => {
    execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    if (dir) await removeDir(dir);
  });

  it('asks ARP again every few milliseconds until plugged into its bridge, then as usual', async () => {
    dir = await tempDir();
    execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
    const file = path.join(dir, 'netns');
    await createNetns(file);
    try {
      const arp = () => execFileSync('nsenter', [`--net=${file}`, 'ip', 'ntable', 'show', 'name', 'arp_cache', 'dev', 'eth0'], { encoding: 'utf8' });
      const network = await buildNetwork(file, { veths: [{ name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1500, addresses: ['198.18.200.2/24'], bridge }], routes: [] });
      const before = arp();
      expect(Number(/retrans (\d+)/.exec(before)?.[1])).toBeLessThan(50);
      expect(Number(/mcast_probes (\d+)/.exec(before)?.[1])).toBeGreaterThan(3);
      await (await network.plug()).usualArp;
      const after = arp();
      expect(Number(/retrans (\d+)/.exec(after)?.[1])).toBeGreaterThanOrEqual(1000);
      expect(Number(/mcast_probes (\d+)/.exec(after)?.[1])).toBe(3);
      // And its veth is on the bridge.
      expect(execFileSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' })).toMatch(/fz[0-9a-f]{10}/);
    } finally {
      await removeNetns(file);
    }
  });
});
