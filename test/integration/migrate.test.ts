// Live migration between two namespace hosts: the tree moves with its memory intact, only an
// authenticated source is accepted, and every failure leaves the source running.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { features } from '../../src/check.js';
import { childrenOf, readStat } from '../../src/process/proc.js';
import { canCheckpoint, capabilities } from '../helpers/capabilities.js';
import { startReceiver } from '../helpers/migration.js';
import { createHosts, HOST_BRIDGE, type HostPair } from '../../src/bench/network-hosts.js';
import { compileFixture, isRunningNotStopped, logText, freezedryCommand, repoRoot, stateServiceScript, useWorkspace, waitFor, writeProtectedMappings } from '../helpers/workloads.js';

const enabled = (await canCheckpoint()) && (await capabilities()).lazyPages;
// CRIU's own memory tracking (soft-dirty): absent on the machines this suite was written on.
const softDirty = enabled && (await features()).memTrack;
const keepaliveClient = path.join(repoRoot, 'bench', 'workloads', 'keepalive-client.mjs');


/**
 * The destination's per-migration directories now in the temporary directory (a receiver may
 * remove, at its start, those other agents left when they were killed: only new ones count).
 */
function incomingDirs(): Set<string> {
  return new Set(readdirSync(os.tmpdir()).filter((name) => name.startsWith('freezedry-incoming-')));
}
describe.runIf(enabled)('migration between hosts', () => {
  const { dir, track } = useWorkspace();
  let hosts: HostPair;
  beforeAll(() => {
    hosts = createHosts();
  });
  afterAll(() => hosts?.destroy());

  async function workload(mib: number, name: string): Promise<{ pid: number; log: string }> {
    const binary = await compileFixture('lazy-memory');
    const log = path.join(dir(), `${name}.log`);
    const pid = Number(hosts.a.run([freezedryCommand, 'run', '--log', log, '--', binary, String(mib)]).trim());
    track(pid);
    await waitFor('the workload', () => (logText(log).includes('READY') ? true : undefined));
    return { pid, log };
  }

  /** A tree that keeps rewriting `rate` MiB/s of its `mib` MiB (busy-memory.c). */
  async function busyWorkload(mib: number, rate: number, name: string, remap = false): Promise<{ pid: number; log: string }> {
    const binary = await compileFixture('busy-memory');
    const log = path.join(dir(), `${name}.log`);
    // Its count of writes kept in a file too: a memory that lost a whole step's writes is caught.
    const argv = [binary, String(mib), String(rate), ...(remap ? ['--remap'] : []), '--ledger', path.join(dir(), `${name}.ledger`)];
    const pid = Number(hosts.a.run([freezedryCommand, 'run', '--log', log, '--', ...argv]).trim());
    track(pid);
    await waitFor('the workload', () => (logText(log).includes('READY') ? true : undefined));
    return { pid, log };
  }

  async function verified(pid: number, log: string, nth: number): Promise<string> {
    process.kill(pid, 'SIGUSR1');
    return waitFor('a verification', () => (logText(log).match(/^VERIFY .*$/gm) ?? [])[nth]);
  }

  async function sum(pid: number, log: string, nth: number): Promise<string> {
    process.kill(pid, 'SIGUSR1');
    return waitFor('a checksum', () => (logText(log).match(/^SUM \w+$/gm) ?? [])[nth]);
  }

  /** Waits until host a's namespace holds no lock table of CRIU's (it says what it holds if not). */
  async function noCriuLockOnA() {
    const tables = () => hosts.a.run(['nft', 'list', 'tables', 'inet']);
    await waitFor('no CRIU table in host a', () => (/CRIU-/.test(tables()) ? undefined : true), 5000).catch((error: Error) => {
      throw new Error(`${error.message}:\n${hosts.a.run(['nft', 'list', 'ruleset'])}`);
    });
  }

  /** A destination agent on host b, once it listens. */
  function receiver(port: number, token = 'right-token', extra: string[] = []) {
    return startReceiver(hosts.b, port, ['--token', token, '--bridge', HOST_BRIDGE, '--once', ...extra]);
  }

  async function migrateCli(pid: number, port: number, mode: string, token = 'right-token', extra: string[] = []) {
    const child = hosts.a.spawn([freezedryCommand, 'migrate', String(pid), '--to', `${hosts.b.address}:${port}`, '--token', token, '--mode', mode, '--json', ...extra]);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stdout, stderr };
  }

  /** The state service in a pid and network namespace of its own, plugged into host a's bridge. */
  async function serviceOnA(name: string, mb: number) {
    const log = path.join(dir(), `${name}.log`);
    const argv = [process.execPath, stateServiceScript, '--host', '0.0.0.0', '--port', '8080', '--mb', String(mb)];
    const pid = Number(hosts.a.run([freezedryCommand, 'run', '--net', '--log', log, '--', ...argv]).trim());
    track(pid);
    const address = hosts.attachService(hosts.a, pid);
    await waitFor('the service', () => (logText(log).includes('listening') ? true : undefined), 30_000);
    return { pid, address };
  }

  /** A client on the client host holding one keep-alive connection to the service at `address`. */
  async function connectedClient(address: string, port = 8080) {
    const child = hosts.client.spawn([process.execPath, keepaliveClient, address, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let said = '';
    let report = '';
    child.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (report += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await waitFor('the client', () => (said.includes('READY') ? true : undefined));
    const answered = () => Number(/ANSWERED (\d+)\n(?![\s\S]*ANSWERED)/.exec(said)?.[1] ?? -1);
    return {
      child,
      said: () => said,
      report: () => report,
      /**
       * Waits for 20 more answers on its connection (however long they take on a slow machine: a
       * fixed wait counted 35-48 answers on one, against 50 expected), then ends it and checks
       * that it exited well, on one connection whose counter went on; returns its report.
       */
      async twentyMoreThenEnd(timeoutMs: number) {
        child.stdin?.write('count\n');
        const before = await waitFor('the client to say how many answers it had', () => (answered() >= 0 ? answered() : undefined)).catch((error: Error) => {
          throw new Error(`${error.message} (it said: ${said.trim()}; its report: ${report.trim() || 'none, it runs'})`);
        });
        await waitFor('20 more answers on the same connection', () => {
          child.stdin?.write('count\n');
          return answered() >= before + 20 ? true : undefined;
        }, timeoutMs);
        child.stdin?.end();
        expect(await exited, `${said} ${report}`).toBe(0);
        const stats = JSON.parse(report) as { requests: number; longestGapMs: number; continuous: boolean; lastCounter: number; error: string | null };
        expect(stats.error).toBeNull();
        expect(stats.continuous).toBe(true); // one connection, and the counter went on where it was
        expect(stats.requests).toBeGreaterThanOrEqual(before + 20);
        return stats;
      },
    };
  }

  for (const [mode, port] of [['stop-copy', 7101], ['post-copy', 7102]] as const) {
    it(`moves a tree to the other host in ${mode}, with its memory intact, and ends the source`, async () => {
      const { pid, log } = await workload(64, mode);
      const before = await sum(pid, log, 0);
      const agent = await receiver(port);
      const moved = await migrateCli(pid, port, mode);
      expect(moved.code, moved.stderr).toBe(0);
      const result = JSON.parse(moved.stdout) as { destinationPid: number; frozenMs: number; mode: string };
      expect(result.mode).toBe(mode);
      track(result.destinationPid);
      expect(await agent.exited, agent.output()).toBe(0);
      await waitFor('the source to end', () => (readStat(pid) === undefined || readStat(pid)?.state === 'Z' ? true : undefined));
      expect(await sum(result.destinationPid, log, 1)).toBe(before);
      // It runs in the destination host's network namespace now; the lock CRIU's dump made in
      // the source host's (a table of its own, however empty) went with the source.
      expect(hosts.b.run(['readlink', `/proc/${result.destinationPid}/ns/net`])).toBe(hosts.b.run(['readlink', '/proc/self/ns/net']));
      expect(hosts.a.run(['nft', 'list', 'tables', 'inet'])).not.toMatch(/CRIU-/);
    });
  }

  interface RoundsResult {
    mode: string;
    destinationPid: number;
    frozenMs: number;
    pagesPulled: number;
    rounds: { round: number; pages: number; wireBytes: number; durationMs: number; dirtyRateMBps: number }[];
    final: { pages: number; wireBytes: number };
  }

  for (const [mode, port] of [['pre-copy', 7111], ['hybrid', 7112]] as const) {
    it(`${mode}: rounds while the tree rewrites its memory and remaps some, then a freeze; every page holds its last write`, async () => {
      const { pid, log } = await busyWorkload(64, 16, mode, true);
      expect(await verified(pid, log, 0)).toMatch(/^VERIFY OK/);
      const agent = await receiver(port);
      const moved = await migrateCli(pid, port, mode);
      expect(moved.code, moved.stderr).toBe(0);
      const result = JSON.parse(moved.stdout) as RoundsResult;
      track(result.destinationPid);
      expect(result.mode).toBe(mode);
      // Round 0 sends all it holds; later rounds only what it wrote meanwhile.
      expect(result.rounds.length).toBeGreaterThanOrEqual(2);
      expect(result.rounds[0]?.pages).toBeGreaterThan((0.9 * (64 << 20)) / 4096);
      expect(result.rounds[1]?.pages).toBeLessThan((result.rounds[0]?.pages ?? 0) / 2);
      expect(result.rounds[1]?.dirtyRateMBps).toBeGreaterThan(0);
      // It kept writing until frozen: some pages were left for the freeze.
      expect(result.final.pages).toBeGreaterThan(0);
      if (mode === 'pre-copy') expect(result.pagesPulled).toBe(0);
      else expect(result.pagesPulled).toBe(result.final.pages);
      expect(await agent.exited, agent.output()).toBe(0);
      await waitFor('the source to end', () => (readStat(pid) === undefined || readStat(pid)?.state === 'Z' ? true : undefined));
      expect(await verified(result.destinationPid, log, 1)).toMatch(/^VERIFY OK/);
    });
  }

  it.runIf(softDirty)('pre-copy with CRIU pre-dumps (--dirty-tracking soft-dirty): each round only what changed, the final dump on top; every page holds its last write', async () => {
    const { pid, log } = await busyWorkload(64, 16, 'soft-dirty');
    expect(await verified(pid, log, 0)).toMatch(/^VERIFY OK/);
    const agent = await receiver(7117);
    const moved = await migrateCli(pid, 7117, 'pre-copy', 'right-token', ['--dirty-tracking', 'soft-dirty']);
    expect(moved.code, moved.stderr).toBe(0);
    const result = JSON.parse(moved.stdout) as RoundsResult & { dirtyTracking: string };
    track(result.destinationPid);
    expect(result.dirtyTracking).toBe('soft-dirty');
    expect(result.rounds.length).toBeGreaterThanOrEqual(2);
    expect(result.rounds[0]?.pages).toBeGreaterThan((0.9 * (64 << 20)) / 4096);
    expect(result.rounds[1]?.pages).toBeLessThan((result.rounds[0]?.pages ?? 0) / 2);
    expect(result.final.pages).toBeGreaterThan(0);
    expect(await agent.exited).toBe(0);
    await waitFor('the source to end', () => (readStat(pid) === undefined || readStat(pid)?.state === 'Z' ? true : undefined));
    expect(await verified(result.destinationPid, log, 1)).toMatch(/^VERIFY OK/);
  });

  it.skipIf(softDirty)('--dirty-tracking soft-dirty on a kernel without soft-dirty: ERR_KERNEL_FEATURE_MISSING before anything is frozen or sent', async () => {
    const { pid, log } = await workload(16, 'no-soft-dirty');
    const before = await sum(pid, log, 0);
    const incomingBefore = incomingDirs();
    const agent = await receiver(7118);
    const refused = await migrateCli(pid, 7118, 'pre-copy', 'right-token', ['--dirty-tracking', 'soft-dirty']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain('ERR_KERNEL_FEATURE_MISSING');
    expect(refused.stdout).toMatch(/no soft-dirty bits/);
    await agent.exited;
    expect([...incomingDirs()].filter((name) => !incomingBefore.has(name))).toEqual([]); // nothing written here
    expect(isRunningNotStopped(pid)).toBe(true);
    expect(writeProtectedMappings(pid)).toEqual([]);
    expect(await sum(pid, log, 1)).toBe(before);
  });

  it('pre-copy moves a tree of several processes, each tracked and verified on its own', async () => {
    // (The resource-tree fixture cannot move on one machine: the stopped source keeps its file
    // lock, which the destination's restore then waits for.)
    const binary = await compileFixture('busy-memory');
    const log = path.join(dir(), 'several.log');
    const script = `${binary} 32 8 --ledger ${dir()}/a.ledger & ${binary} 48 8 --remap --ledger ${dir()}/b.ledger & wait`;
    const pid = Number(hosts.a.run([freezedryCommand, 'run', '--log', log, '--', 'sh', '-c', script]).trim());
    track(pid);
    await waitFor('both workers', () => ((logText(log).match(/^READY/gm) ?? []).length === 2 ? true : undefined));
    const agent = await receiver(7115);
    const moved = await migrateCli(pid, 7115, 'pre-copy');
    expect(moved.code, moved.stderr + agent.output()).toBe(0);
    const result = JSON.parse(moved.stdout) as RoundsResult;
    track(result.destinationPid);
    // Round 0 holds about all of their 80 MiB (a part being remapped at that moment waits for the freeze).
    expect(result.rounds[0]?.pages).toBeGreaterThan((0.9 * (80 << 20)) / 4096);
    expect(result.pagesPulled).toBe(0);
    await agent.exited;
    const workers = childrenOf(result.destinationPid);
    expect(workers).toHaveLength(2);
    for (const worker of workers) process.kill(worker, 'SIGUSR1');
    const verdicts = await waitFor('both verdicts', () => {
      const lines = logText(log).match(/^VERIFY .*$/gm) ?? [];
      return lines.length >= 2 ? lines : undefined;
    });
    for (const verdict of verdicts) expect(verdict).toMatch(/^VERIFY OK/);
  });

  it('auto: stop-copy when it fits the budget, post-copy when not even a freeze without memory does, rounds in between', async () => {
    // 64 MiB: a stop-copy is estimated at over 130 ms, a freeze without memory at about 180 ms;
    // 256 MiB: a stop-copy at over 530 ms, a freeze without memory at about 190 ms.
    for (const [budget, expected, port, mib] of [['100000', 'stop-copy', 7106, 64], ['20', 'post-copy', 7107, 64], ['400', 'rounds', 7109, 256]] as const) {
      const { pid, log } = await busyWorkload(mib, 8, `auto-${expected}`);
      const agent = await receiver(port);
      const child = hosts.a.spawn([freezedryCommand, 'migrate', String(pid), '--to', `${hosts.b.address}:${port}`, '--token', 'right-token', '--downtime', budget, '--json']);
      let stdout = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
      const result = JSON.parse(stdout) as RoundsResult & { decision: { chosen: string; reason: string; bandwidthMBps: number } };
      track(result.destinationPid);
      expect(result.decision.chosen).toBe(result.mode);
      expect(result.decision.reason).not.toBe('');
      expect(result.decision.bandwidthMBps).toBeGreaterThan(0);
      if (expected === 'rounds') {
        expect(['pre-copy', 'hybrid']).toContain(result.mode);
        expect(result.rounds.length).toBeGreaterThanOrEqual(2);
      } else {
        expect(result.mode).toBe(expected);
        expect(result.rounds).toBeUndefined();
      }
      await agent.exited;
      expect(await verified(result.destinationPid, log, 0)).toMatch(/^VERIFY OK/);
    }
  });

  for (const [mode, port] of [['stop-copy', 7121], ['post-copy', 7122], ['pre-copy', 7123], ['hybrid', 7124]] as const) {
    it(`a client keeps using its TCP connection to the service across a ${mode} migration, and its state`, async () => {
      const { pid, address } = await serviceOnA(`tcp-${mode}`, 32);
      const client = await connectedClient(address);

      const agent = await receiver(port);
      const macs = () => [hosts.a, hosts.b].map((host) => JSON.parse(host.run(['ip', '-j', 'link', 'show', HOST_BRIDGE]))[0].address as string);
      const macsBefore = macs();
      const eth0 = (of: number) => JSON.parse(execFileSync('nsenter', [`--net=/proc/${of}/ns/net`, 'ip', '-j', 'addr', 'show', 'eth0'], { encoding: 'utf8' }))[0] as { address: string; addr_info: { local: string }[] };
      const eth0Before = eth0(pid);
      // The client says nothing until the tree is frozen for its dump (stopped for 20 ms: the
      // dirty tracker's own stops are far shorter): its next request then certainly meets the
      // freeze (one answered just before it could leave none, as seen once).
      const helds = client.said().split('HELD').length;
      client.child.stdin?.write('hold\n');
      await waitFor('the client to hold', () => (client.said().split('HELD').length > helds ? true : undefined), 10_000);
      // The source agent probes the service too, from host a, over a connection of its own.
      const moving = migrateCli(pid, port, mode, 'right-token', ['--tcp-established', '--probe', `http://${address}:8080/ping`]);
      let ended: Awaited<typeof moving> | undefined;
      void moving.then((outcome) => (ended = outcome));
      let stoppedSince: number | undefined;
      await waitFor('the freeze', () => {
        // (One CI run here timed out at this wait: a move that ends first says how.)
        if (ended) throw new Error(`the migration ended before the tree was seen frozen: ${ended.stdout} ${ended.stderr} ${agent.output()}`);
        stoppedSince = ['t', 'T'].includes(readStat(pid)?.state ?? '') ? (stoppedSince ?? Date.now()) : undefined;
        return stoppedSince !== undefined && Date.now() - stoppedSince >= 20 ? true : undefined;
      }, 60_000);
      client.child.stdin?.write('go\n');
      const moved = await moving;
      expect(moved.code, moved.stderr + agent.output()).toBe(0);
      const result = JSON.parse(moved.stdout) as { destinationPid: number; clientDowntimeMs: number; framesReplayed?: number; probe: { answers: number; reconnects: number } };
      track(result.destinationPid);
      // One answer before the freeze and one after, on the same connection, at least (a quick
      // stop-copy of 32 MiB leaves time for no more: 2 was seen here, failing a check of > 2).
      expect(result.probe.answers).toBeGreaterThanOrEqual(2);
      expect(result.probe.reconnects).toBe(0);
      expect(result.clientDowntimeMs).toBeGreaterThan(20); // the freeze shows as one long gap
      expect(await agent.exited, agent.output()).toBe(0);
      // Its namespace (loopback and a veth) was made there before the freeze, and CRIU put the
      // tree into it: the same MAC and address.
      expect(agent.output()).toContain('its network namespace made here');
      expect(eth0(result.destinationPid)).toMatchObject({ address: eth0Before.address, addr_info: expect.arrayContaining([expect.objectContaining({ local: address })]) });
      // The probe's request sent as the tree froze (and the client's) were dropped in its
      // namespace there; the source kept them and the destination injected them once it ran.
      expect(result.framesReplayed, moved.stderr).toBeGreaterThan(0);
      expect(agent.output()).toMatch(/replayed [1-9]\d* TCP frames sent to the tree while it was frozen/);
      // The source's namespace (and its veth on a's bridge) is gone once the source ended.
      await waitFor('the source to end', () => (readStat(pid) === undefined ? true : undefined));
      // A bridge takes its lowest port's MAC unless pinned: a port coming or going must not
      // change either host's address (their peers' ARP caches would go stale).
      expect(macs()).toEqual(macsBefore);
      for (const host of [hosts.a, hosts.b]) {
        const assigned = execFileSync('ip', ['netns', 'exec', host.name, 'cat', `/sys/class/net/${HOST_BRIDGE}/addr_assign_type`], { encoding: 'utf8' });
        expect(assigned.trim()).toBe('3'); // NET_ADDR_SET
      }
      expect(client.report()).toBe(''); // the client still runs: its connection never broke
      // It goes on using that connection.
      const stats = await client.twentyMoreThenEnd(60_000);
      console.log(`${mode}: the longest gap between answers: ${result.clientDowntimeMs.toFixed(0)} ms for migrate's probe (${stats.longestGapMs.toFixed(0)} ms for the client, held from before the freeze)`);
    });
  }

  it('a tree whose network namespace holds a firewall rule: CRIU carries the namespace, rule and all', async () => {
    const { pid, address } = await serviceOnA('firewalled', 8);
    const inside = (of: number, ...command: string[]) => execFileSync('nsenter', [`--net=/proc/${of}/ns/net`, ...command], { encoding: 'utf8' });
    inside(pid, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP');
    const agent = await receiver(7125);
    const moved = await migrateCli(pid, 7125, 'post-copy');
    expect(moved.code, moved.stderr + agent.output()).toBe(0);
    const result = JSON.parse(moved.stdout) as { destinationPid: number };
    track(result.destinationPid);
    expect(await agent.exited, agent.output()).toBe(0);
    expect(agent.output()).not.toContain('its network namespace made here');
    expect(inside(result.destinationPid, 'iptables-save')).toMatch(/-A INPUT -p tcp -m tcp --dport 9 -j DROP/);
    expect(JSON.parse(inside(result.destinationPid, 'ip', '-j', 'addr', 'show', 'eth0'))[0].addr_info.map((a: { local: string }) => a.local)).toContain(address);
  });

  it("a veth that cannot join the destination's bridge once the tree runs there fails the migration, saying why; the source resumes, reachable", async () => {
    const { pid, address } = await serviceOnA('unpluggable', 8);
    // The destination's `ip` refuses to put a link on a bridge: the plug after the restore
    // (its namespace is made ahead with the veth off the bridge).
    const fakes = path.join(dir(), 'ip-no-master');
    mkdirSync(fakes);
    const realIp = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(fakes, 'ip'), `#!/bin/sh\nfor a in "$@"; do [ "$a" = master ] && { echo "refused by the test" >&2; exit 2; }; done\nexec ${realIp} "$@"\n`, { mode: 0o755 });
    // A client holds a connection through it all.
    const client = await connectedClient(address);
    const agent = await startReceiver(hosts.b, 7126, ['--token', 'right-token', '--bridge', HOST_BRIDGE, '--once'], [`PATH=${fakes}:${process.env.PATH}`]);
    const moved = await migrateCli(pid, 7126, 'post-copy', 'right-token', ['--tcp-established']);
    expect(moved.code, moved.stdout + moved.stderr + agent.output()).not.toBe(0);
    expect(moved.stdout + moved.stderr).toMatch(/ERR_MIGRATION_FAILED/);
    expect(moved.stdout + moved.stderr).toMatch(/refused by the test/);
    expect(agent.output()).toContain('its network namespace made here');
    await agent.exited;
    // The source runs on a and answers at its address, a new connection and the client's: the
    // network lock CRIU's dump left in its namespace (it was dumped to stay stopped) is gone, and
    // its TCP sockets are out of repair mode.
    await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined));
    const answer = hosts.client.run([process.execPath, '-e', `fetch('http://${address}:8080/ping').then(async (r) => console.log(r.status, await r.text()))`]);
    expect(answer).toMatch(/^200/);
    await client.twentyMoreThenEnd(30_000);
  });

  // CRIU cannot restore the tree's connections on b (their address is a's): the move fails there.
  for (const [mode, port] of [['stop-copy', 7127], ['post-copy', 7128]] as const) {
    it(`${mode}: a tree in its host's network namespace, dumped with its connections, that cannot move resumes reachable, at once`, async () => {
      const log = path.join(dir(), `host-netns-${mode}.log`);
      const argv = [process.execPath, stateServiceScript, '--host', '0.0.0.0', '--port', String(port + 1000), '--mb', '8'];
      const pid = Number(hosts.a.run([freezedryCommand, 'run', '--log', log, '--', ...argv]).trim());
      track(pid);
      await waitFor('the service', () => (logText(log).includes('listening') ? true : undefined), 30_000);
      const client = await connectedClient(hosts.a.address, port + 1000);
      const agent = await receiver(port);
      const moved = await migrateCli(pid, port, mode, 'right-token', ['--tcp-established']);
      expect(moved.code, moved.stdout + moved.stderr + agent.output()).not.toBe(0);
      // The destination's reason, as soon as it failed (post-copy: its agent once waited 30 s for
      // the source's page server to answer a goodbye, and the source gave up on it first).
      expect(moved.stdout).toMatch(/ERR_MIGRATION_FAILED[\s\S]*the peer reports ERR_CRIU_RESTORE_FAILED[\s\S]*Can't bind inet socket back/);
      await agent.exited;
      await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined));
      // CRIU locked each connection in a table of host a's namespace, named after its dump.
      expect(hosts.a.run(['nft', 'list', 'tables', 'inet'])).not.toMatch(/CRIU-/);
      await client.twentyMoreThenEnd(30_000);
    });
  }

  it("post-copy: a service that writes on its own, whose move fails after CRIU's dump, goes on writing on its connection", async () => {
    // Its connection was locked and in repair mode for the dump (a socket written in repair mode
    // fails): once resumed, every line it writes must reach the client, in order.
    const log = path.join(dir(), 'pusher.log');
    const pusher = `require('net').createServer((s) => { let n = 0; const t = setInterval(() => s.write(n++ + '\\n'), 2); s.on('error', () => {}); s.on('close', () => clearInterval(t)); }).listen(8129, () => console.log('listening'))`;
    const pid = Number(hosts.a.run([freezedryCommand, 'run', '--log', log, '--', process.execPath, '-e', pusher]).trim());
    track(pid);
    await waitFor('the service', () => (logText(log).includes('listening') ? true : undefined), 30_000);
    const reader = `let last = -1, got = 0, buf = ''; const s = require('net').connect(8129, '${hosts.a.address}'); s.on('data', (d) => { buf += d; const lines = buf.split('\\n'); buf = lines.pop(); for (const l of lines) { if (Number(l) !== last + 1) { console.log('GAP', last, l); process.exit(1); } last = Number(l); got++; } }); s.on('error', (e) => { console.log('ERROR', e.message); process.exit(1); }); s.on('close', () => { console.log('CLOSED'); process.exit(1); }); process.stdin.on('data', () => console.log('GOT', got)); process.stdin.on('end', () => { console.log('DONE', got); process.exit(0); });`;
    const client = hosts.client.spawn([process.execPath, '-e', reader], { stdio: ['pipe', 'pipe', 'pipe'] });
    let said = '';
    client.stdout?.on('data', (d: Buffer) => (said += d.toString()));
    const exited = new Promise<number | null>((resolve) => client.once('exit', resolve));
    const count = async () => {
      const before = said.length;
      client.stdin?.write('?\n');
      return Number(/GOT (\d+)/.exec(await waitFor('a count', () => (said.length > before ? said.slice(before) : undefined)))?.[1]);
    };
    await waitFor('lines', async () => ((await count()) > 100 ? true : undefined));
    const agent = await receiver(7129);
    const moved = await migrateCli(pid, 7129, 'post-copy', 'right-token', ['--tcp-established']);
    expect(moved.stdout).toMatch(/the peer reports ERR_CRIU_RESTORE_FAILED/);
    await agent.exited;
    await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined));
    const after = await count();
    await waitFor('more lines on the same connection', async () => ((await count()) > after + 200 ? true : undefined), 20_000);
    client.stdin?.end();
    expect(await exited, said).toBe(0);
  });

  it('with certificates: mutual TLS moves the tree; another CA, an expired certificate or none is refused before anything freezes', async () => {
    const certs = path.join(dir(), 'certs');
    mkdirSync(certs);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
    const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', ...newKey, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '30', '-subj', `/CN=${ca}`);
    const issue = (name: string, ca: string, days: number) => {
      openssl('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days));
    };
    issue('a', 'ca', 30);
    issue('b', 'ca', 30);
    issue('stranger', 'other-ca', 30);
    issue('expired', 'ca', -1);
    const tls = (name: string) => ['--tls-cert', path.join(certs, `${name}.pem`), '--tls-key', path.join(certs, `${name}.key`), '--tls-ca', path.join(certs, 'ca.pem')];
    const { pid, log } = await workload(16, 'tls');
    const before = await sum(pid, log, 0);

    for (const [source, port] of [[tls('stranger'), 7131], [tls('expired'), 7132], [[], 7133]] as const) {
      const agent = await receiver(port, 'right-token', tls('b'));
      const refused = await migrateCli(pid, port, 'stop-copy', 'right-token', [...source]);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toContain('ERR_AUTH_FAILED');
      await agent.exited;
      expect(agent.output()).toMatch(/refused .*: (the peer's certificate was refused|the peer did not prove|the peer gave up the TLS handshake)/);
      expect(isRunningNotStopped(pid)).toBe(true);
    }

    const agent = await receiver(7134, 'right-token', tls('b'));
    const moved = await migrateCli(pid, 7134, 'post-copy', 'right-token', tls('a'));
    expect(moved.code, moved.stdout + agent.output()).toBe(0);
    const result = JSON.parse(moved.stdout) as { destinationPid: number };
    track(result.destinationPid);
    expect(await agent.exited, agent.output()).toBe(0);
    expect(await sum(result.destinationPid, log, 1)).toBe(before);
  });

  it('refuses a source with the wrong token before any image byte, and logs it; the source is untouched', async () => {
    const { pid } = await workload(16, 'wrong-token');
    const incomingBefore = incomingDirs();
    const agent = await receiver(7103, 'right-token');
    const refused = await migrateCli(pid, 7103, 'stop-copy', 'wrong-token');
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain('ERR_AUTH_FAILED');
    await agent.exited;
    expect(agent.output()).toMatch(/refused .*did not prove it knows the token/);
    expect([...incomingDirs()].filter((name) => !incomingBefore.has(name))).toEqual([]); // nothing written here
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it('a destination that dies mid-migration: ERR_MIGRATION_FAILED, and the source runs on with its memory', async () => {
    const { pid, log } = await workload(384, 'dest-dies');
    const before = await sum(pid, log, 0);
    const agent = await receiver(7104);
    const migrating = migrateCli(pid, 7104, 'stop-copy');
    await waitFor('the transfer to start', () => (agent.output().includes('authenticated') ? true : undefined));
    agent.child.kill('SIGKILL');
    const failed = await migrating;
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(/ERR_MIGRATION_FAILED|connection lost/);
    await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined));
    expect(await sum(pid, log, 1)).toBe(before);
  });

  it('stop-copy: a destination killed as it starts restoring leaves no copy there, and the source resumes', async () => {
    const { pid, log } = await workload(385, 'dies-restoring');
    const before = await sum(pid, log, 0);
    const agent = await receiver(7114);
    const migrating = migrateCli(pid, 7114, 'stop-copy');
    await waitFor('the restore to start', () => (agent.output().includes('restoring') ? true : undefined), 30_000);
    agent.child.kill('SIGKILL');
    const failed = await migrating;
    expect(failed.code).not.toBe(0);
    await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined), 15_000);
    expect(await sum(pid, log, 1)).toBe(before);
    // Nothing of the tree runs there: only the source holds the workload.
    const copies = () => execFileSync('pgrep', ['-f', '^\\S*lazy-memory-[0-9a-f]+ 385$'], { encoding: 'utf8' }).trim().split('\n').map(Number);
    await waitFor('only the source to hold the workload', () => (copies().length === 1 ? true : undefined), 15_000);
    expect(copies()).toEqual([pid]);
  });

  it('stop-copy: a source agent killed (SIGKILL) after the freeze leaves the source running, not stopped', async () => {
    const { pid, log } = await workload(384, 'source-agent-dies');
    const before = await sum(pid, log, 0);
    const agent = await receiver(7116);
    const child = hosts.a.spawn([freezedryCommand, 'migrate', String(pid), '--to', `${hosts.b.address}:7116`, '--token', 'right-token', '--mode', 'stop-copy']);
    let said = '';
    child.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    await waitFor('the dump', () => (said.includes('dumped') ? true : undefined), 30_000);
    child.kill('SIGKILL');
    await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined), 15_000);
    expect(await sum(pid, log, 1)).toBe(before);
    await noCriuLockOnA(); // the watchdog deleted the table of the dump's run
    agent.child.kill('SIGKILL');
  });

  it('a source agent killed after the freeze of a tree dumped with its connections: the watchdog undoes their lock and repair mode, and its client goes on', async () => {
    const log = path.join(dir(), 'agent-dies-tcp.log');
    const argv = [process.execPath, stateServiceScript, '--host', '0.0.0.0', '--port', '8130', '--mb', '8'];
    const pid = Number(hosts.a.run([freezedryCommand, 'run', '--log', log, '--', ...argv]).trim());
    track(pid);
    await waitFor('the service', () => (logText(log).includes('listening') ? true : undefined), 30_000);
    const client = await connectedClient(hosts.a.address, 8130);
    const agent = await receiver(7130);
    const child = hosts.a.spawn([freezedryCommand, 'migrate', String(pid), '--to', `${hosts.b.address}:7130`, '--token', 'right-token', '--mode', 'stop-copy', '--tcp-established']);
    let said = '';
    child.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    try {
      await waitFor('the dump', () => (said.includes('dumped') ? true : undefined), 30_000);
      // The destination neither restores nor fails now: only the source's watchdog resumes it.
      agent.child.kill('SIGSTOP');
      child.kill('SIGKILL');
      await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined), 15_000);
      // CRIU's lock on its connection, in a table of host a's namespace, is gone…
      await noCriuLockOnA();
      // …and its socket left repair mode: it answers on that connection.
      await client.twentyMoreThenEnd(30_000);
    } finally {
      agent.child.kill('SIGKILL');
    }
  });

  it('pre-copy: a destination killed during the rounds fails the migration; the source never froze and is no longer tracked', async () => {
    const { pid, log } = await busyWorkload(256, 16, 'rounds-dest-dies');
    const agent = await receiver(7110);
    const migrating = migrateCli(pid, 7110, 'pre-copy');
    await waitFor('the rounds to start', () => (agent.output().includes('authenticated') ? true : undefined));
    agent.child.kill('SIGKILL');
    const failed = await migrating;
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(/ERR_MIGRATION_FAILED/);
    expect(isRunningNotStopped(pid)).toBe(true);
    expect(writeProtectedMappings(pid)).toEqual([]); // the trackers are gone with the migration
    expect(await verified(pid, log, 0)).toMatch(/^VERIFY OK/);
  });

  it('post-copy: a destination killed while pulling memory ends its copy, and the source resumes intact', async () => {
    const { pid, log } = await workload(512, 'post-copy-dest-dies');
    const before = await sum(pid, log, 0);
    const agent = await receiver(7108);
    const migrating = migrateCli(pid, 7108, 'post-copy');
    const destinationPid = Number(await waitFor('the tree to run there', () => agent.output().match(/running as pid (\d+)/)?.[1], 30_000));
    track(destinationPid);
    agent.child.kill('SIGKILL');
    const failed = await migrating;
    expect(failed.code).not.toBe(0);
    // No two live copies: the destination's is ended (its memory can no longer arrive)…
    await waitFor('the destination copy to end', () => (readStat(destinationPid) === undefined || readStat(destinationPid)?.state === 'Z' ? true : undefined), 15_000);
    // …and the source runs on with its memory.
    await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined), 15_000);
    expect(await sum(pid, log, 1)).toBe(before);
  });

  it('post-copy: a link cut while memory is pulled ends the copy there, and the source resumes intact once the link timeout passes', async () => {
    const { pid, log } = await workload(512, 'link-cut');
    const before = await sum(pid, log, 0);
    const agent = await receiver(7113, 'right-token', ['--link-timeout', '2000']);
    const migrating = migrateCli(pid, 7113, 'post-copy', 'right-token', ['--link-timeout', '2000']);
    const destinationPid = Number(await waitFor('the tree to run there', () => agent.output().match(/running as pid (\d+)/)?.[1], 30_000));
    track(destinationPid);
    hosts.cutLink();
    try {
      const failed = await migrating;
      expect(failed.code).not.toBe(0);
      expect(failed.stdout).toMatch(/ERR_MIGRATION_FAILED[\s\S]*(no word from the peer|connection lost)/);
      await waitFor('the destination copy to end', () => (readStat(destinationPid) === undefined || readStat(destinationPid)?.state === 'Z' ? true : undefined), 15_000);
      await waitFor('the source to run again', () => (isRunningNotStopped(pid) ? true : undefined), 15_000);
      expect(await sum(pid, log, 1)).toBe(before);
      expect(agent.output()).toMatch(/lost the source while pulling memory/);
    } finally {
      hosts.cutLink(false);
      agent.child.kill('SIGKILL');
    }
  });

  it('a probe that gets no answer fails the migration before anything freezes; the source runs on', async () => {
    const { pid, log } = await workload(16, 'deaf-probe');
    const before = await sum(pid, log, 0);
    const agent = await receiver(7119);
    const failed = await migrateCli(pid, 7119, 'stop-copy', 'right-token', ['--probe', 'http://127.0.0.1:9/']);
    expect(failed.code).not.toBe(0);
    expect(failed.stdout).toContain('ERR_INVALID_ARG_VALUE');
    expect(failed.stdout).toMatch(/the probe got no answer from http:\/\/127.0.0.1:9\/ .*ECONNREFUSED/);
    await agent.exited;
    expect(isRunningNotStopped(pid)).toBe(true);
    expect(await sum(pid, log, 1)).toBe(before);
  });

  it('a source that is not there: ERR_NO_SUCH_PROCESS, nothing sent', async () => {
    const agent = await receiver(7105);
    const result = await migrateCli(4194300, 7105, 'stop-copy');
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('ERR_NO_SUCH_PROCESS');
    agent.child.kill('SIGKILL');
  });
});
