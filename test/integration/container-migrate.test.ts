// Container migration between two namespace hosts, through the real runc and CRIU: a container
// with its own network namespace plugged into host a's bridge moves to host b in every mode,
// with its memory, its file changes, its address and a client's established TCP connection;
// every failure leaves the original running on a with its network.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listContainers, removeContainer, runContainer } from '../../src/index.js';
import { bundleOf } from '../../src/container/bundle.js';
import { createHosts, HOST_BRIDGE, type HostPair } from '../../src/bench/network-hosts.js';
import { canCheckpoint, capabilities } from '../helpers/capabilities.js';
import { busyboxRootfs } from '../helpers/containers.js';
import { startReceiver } from '../helpers/migration.js';
import { removeDir, freezedryCommand, repoRoot, tempDir, waitFor } from '../helpers/workloads.js';

const enabled = (await canCheckpoint()) && (await capabilities()).lazyPages;
const keepaliveClient = path.join(repoRoot, 'bench', 'workloads', 'keepalive-client.mjs');
const PREFIX = `fdm${process.pid}`;
const PORT = 7400;
const MIB = 64;

describe.runIf(enabled)('container migration between hosts', () => {
  let hosts: HostPair;
  let dir = '';
  let rootfs = '';
  // Host b keeps its containers apart, as another machine would: its own bundles and runc root.
  let bContainers = '';
  const bRunc = `/run/runc-${PREFIX}`;
  const previousContainers = process.env.FREEZEDRY_CONTAINERS;

  beforeAll(async () => {
    hosts = createHosts();
    dir = await tempDir();
    rootfs = await busyboxRootfs(path.join(dir, 'rootfs'));
    process.env.FREEZEDRY_CONTAINERS = path.join(dir, 'a-containers');
    bContainers = path.join(dir, 'b-containers');
  }, 120_000);

  afterAll(async () => {
    for (const c of await listContainers().catch(() => [])) {
      if (c.id.startsWith(PREFIX)) await removeContainer(c.id, { force: true }).catch(() => {});
    }
    process.env.FREEZEDRY_CONTAINERS = bContainers;
    for (const c of await listContainers({ runcRoot: bRunc }).catch(() => [])) await removeContainer(c.id, { runcRoot: bRunc, force: true }).catch(() => {});
    process.env.FREEZEDRY_CONTAINERS = previousContainers;
    rmSync(bRunc, { recursive: true, force: true });
    hosts?.destroy();
    await removeDir(dir);
  });

  /** A container on host a's bridge, which changed its files, and a client holding a connection to it. */
  async function serviceOnA(name: string) {
    const id = `${PREFIX}-${name}`;
    const script = `echo moved > /data/added; rm /etc/removeme; exec container-service ${PORT} ${MIB}`;
    const info = await runContainer(['sh', '-c', script], { rootfs, id, net: true });
    const address = hosts.attachService(hosts.a, info.pid);
    const client = hosts.client.spawn([process.execPath, keepaliveClient, address, String(PORT), '--check'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let said = '';
    let report = '';
    client.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    client.stdout?.on('data', (d: Buffer) => (report += d.toString()));
    const exited = new Promise<number | null>((resolve) => client.once('exit', resolve));
    await waitFor('the client', () => (said.includes('READY') ? true : undefined), 30_000);
    /** Keeps the client quiet (no request in flight) until go(); resolves once it is. */
    const hold = async () => {
      const before = said.split('HELD').length;
      client.stdin?.write('hold\n');
      await waitFor('the client to hold', () => (said.split('HELD').length > before ? true : undefined), 10_000);
    };
    const go = () => client.stdin?.write('go\n');
    return { id, pid: info.pid, address, client, exited, report: () => report, hold, go };
  }

  async function clientReport(client: ChildProcess, exited: Promise<number | null>, report: () => string) {
    client.stdin?.end();
    const code = await exited;
    return { code, stats: JSON.parse(report()) as { requests: number; longestGapMs: number; continuous: boolean; intact: boolean; error: string | null } };
  }

  /** The destination agent on host b, once it listens. */
  function receiver(port: number, token = 'right-token') {
    return startReceiver(hosts.b, port, ['--token', token, '--runc-root', bRunc, '--once'], [`FREEZEDRY_CONTAINERS=${bContainers}`]);
  }

  async function migrateCli(id: string, port: number, mode: string, extra: string[] = [], token = 'right-token', env: string[] = []) {
    const child = hosts.a.spawn(['env', ...env, freezedryCommand, 'container', 'migrate', id, '--to', `${hosts.b.address}:${port}`, '--token', token, '--mode', mode, '--json', ...extra]);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stdout, stderr, child };
  }

  const runcState = (id: string, root?: string) => {
    try {
      return JSON.parse(execFileSync('runc', [...(root ? ['--root', root] : []), 'state', id], { encoding: 'utf8', stdio: 'pipe' })) as { status: string; pid: number; bundle: string };
    } catch {
      return undefined;
    }
  };

  /** The outer end of the container's veth on host a, and the bridge it is on. */
  const bridgePorts = (host: 'a' | 'b') => {
    const links = JSON.parse(hosts[host].run(['ip', '-j', 'link', 'show', 'master', HOST_BRIDGE])) as { ifname: string }[];
    return links.map((l) => l.ifname).filter((name) => name.startsWith('fz'));
  };

  for (const [mode, port] of [['stop-copy', 7401], ['post-copy', 7402], ['pre-copy', 7403], ['hybrid', 7404]] as const) {
    it(`${mode}: the container runs on b with its memory, files, address and the client's connection; nothing of it is left on a`, async () => {
      const service = await serviceOnA(mode);
      const agent = await receiver(port);
      // The client says nothing until the container is paused for its freeze and its veth is off
      // a's bridge (which happens only then): its next request then certainly reaches a frozen
      // container (one answered just before could leave none) and is kept (one that arrives
      // between the pause and the unplug is queued in the frozen container's socket and dumped
      // with it: nothing to replay). Watched on the bridge: runc's state says 'running' for most
      // of the freeze (CRIU thaws the cgroup once it has seized the tasks), and a lazy
      // migration's freeze is over in ~150 ms.
      await service.hold();
      const ports = bridgePorts('a');
      const moving = migrateCli(service.id, port, mode, ['--tcp-established']);
      await waitFor('the freeze', () => (bridgePorts('a').length < ports.length ? true : undefined), 60_000);
      service.go();
      const moved = await moving;
      expect(moved.code, moved.stdout + moved.stderr + agent.output()).toBe(0);
      expect(await agent.exited, agent.output()).toBe(0);
      const result = JSON.parse(moved.stdout) as { mode: string; destinationPid: number; frozenMs: number; rounds?: unknown[]; framesReplayed?: number };
      expect(result.mode).toBe(mode);
      // The client's request sent while it was frozen, its veth off a's bridge, was kept on that
      // bridge and injected on b once it ran (not left to the client's retransmission timer).
      expect(result.framesReplayed, moved.stderr).toBeGreaterThan(0);
      expect(agent.output()).toMatch(/replayed [1-9]\d* TCP frames sent to the tree while it was frozen/);
      // A lazy freeze sends what it held so far with the images: in there as soon as it runs.
      if (mode !== 'stop-copy') expect(agent.output()).toMatch(/replayed [1-9]\d* TCP frames sent to the tree while it was frozen as soon as it ran/);
      if (mode === 'pre-copy' || mode === 'hybrid') expect(result.rounds?.length).toBeGreaterThan(0);

      // On b: runc runs it under its own ID, in a bundle with the file changes.
      const there = runcState(service.id, bRunc);
      expect(there?.status).toBe('running');
      expect(there?.pid).toBe(result.destinationPid);
      const rootfsThere = path.join(bContainers, service.id, 'rootfs');
      expect(readFileSync(path.join(rootfsThere, 'data/added'), 'utf8')).toBe('moved\n');
      expect(existsSync(path.join(rootfsThere, 'etc/removeme'))).toBe(false);
      // Its veth is plugged into b's bridge with the same address; nothing of it stays on a.
      expect(bridgePorts('b').length).toBeGreaterThan(0);
      const addresses = execFileSync('nsenter', [`--net=/proc/${result.destinationPid}/ns/net`, 'ip', '-j', 'addr', 'show', 'eth0'], { encoding: 'utf8' });
      expect(addresses).toContain(service.address);
      expect(runcState(service.id)).toBeUndefined();
      expect(existsSync(bundleOf(service.id).dir)).toBe(false);
      expect(bridgePorts('a')).toEqual([]);

      // The client never lost its connection, and the service's state and memory went on.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const { code, stats } = await clientReport(service.client, service.exited, service.report);
      expect(stats.error).toBeNull();
      expect(code).toBe(0);
      expect(stats.continuous).toBe(true);
      expect(stats.intact).toBe(true);
      console.log(`container ${mode}: frozen ${result.frozenMs.toFixed(0)} ms; the client's longest gap ${stats.longestGapMs.toFixed(0)} ms over ${stats.requests} answers`);
      await removeContainer(service.id, { runcRoot: bRunc, force: true }).catch(() => {});
    });
  }

  it('a destination that already runs that ID refuses before anything freezes; the source runs on, on its bridge', async () => {
    const service = await serviceOnA('taken');
    // The same ID on b (another container there).
    const previous = process.env.FREEZEDRY_CONTAINERS;
    process.env.FREEZEDRY_CONTAINERS = bContainers;
    await runContainer(['sleep', '1000'], { rootfs, id: service.id, runcRoot: bRunc });
    process.env.FREEZEDRY_CONTAINERS = previous;
    const agent = await receiver(7405);
    const moved = await migrateCli(service.id, 7405, 'pre-copy', ['--tcp-established']);
    expect(moved.code).not.toBe(0);
    expect(moved.stdout + moved.stderr).toMatch(/ERR_INCOMPATIBLE_HOST|exists here already/);
    await agent.exited;
    expect(runcState(service.id)?.status).toBe('running');
    expect(bridgePorts('a').length).toBeGreaterThan(0);
    const { stats } = await clientReport(service.client, service.exited, service.report);
    expect(stats.error).toBeNull();
    expect(stats.continuous).toBe(true);
    await removeContainer(service.id, { force: true });
  });

  // The client is quiet while the copy on b runs: a copy that answered it would move its TCP
  // state past the source's, and no resumed source could go on with that connection.
  it('post-copy: a destination killed while it pulls memory ends its copy without a word to the client; the source resumes on its bridge, the connection intact', async () => {
    const service = await serviceOnA('dies');
    const agent = await receiver(7406);
    await service.hold();
    const moving = migrateCli(service.id, 7406, 'post-copy', ['--tcp-established', '--link-timeout', '3000']);
    // Killed as soon as it runs the container there (its memory still arriving).
    await waitFor('the restore on b', () => (/running as pid/.test(agent.output()) ? true : undefined), 60_000);
    agent.child.kill('SIGKILL');
    const moved = await moving;
    expect(moved.code).not.toBe(0);
    expect(moved.stdout + moved.stderr).toMatch(/ERR_MIGRATION_FAILED/);
    await waitFor('the source to resume', () => (runcState(service.id)?.status === 'running' ? true : undefined));
    expect(bridgePorts('a').length).toBeGreaterThan(0);
    // The copy on b, whose memory can no longer arrive, was ended (a watchdog outlives the agent),
    // its links down first: the kernel's close of its copy of the connection reached nobody.
    await waitFor('the copy on b to end', () => (runcState(service.id, bRunc)?.status !== 'running' ? true : undefined));
    // The source answers again, on the same connection.
    service.go();
    await service.hold();
    const { stats } = await clientReport(service.client, service.exited, service.report);
    expect(stats.error).toBeNull();
    expect(stats.continuous).toBe(true);
    expect(stats.intact).toBe(true);
    await removeContainer(service.id, { force: true });
  });

  it('a veth that cannot leave its bridge as the dump begins fails the migration before anything is dumped; it runs on, on its bridge, the connection intact', async () => {
    const service = await serviceOnA('stuck');
    const agent = await receiver(7409);
    // An `ip` whose batches take the veths off and then fail: the pause's unplug
    // (container/pause.ts); the veths must go back on their bridge.
    const fakes = path.join(dir, 'ip-no-batch');
    mkdirSync(fakes, { recursive: true });
    const realIp = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(fakes, 'ip'), `#!/bin/sh\nif [ "$1" = -batch ]; then ${realIp} "$@"; echo "refused by the test" >&2; exit 2; fi\nexec ${realIp} "$@"\n`, { mode: 0o755 });
    const ports = bridgePorts('a');
    const moved = await migrateCli(service.id, 7409, 'post-copy', ['--tcp-established'], 'right-token', [`PATH=${fakes}:${process.env.PATH}`]);
    expect(moved.code).not.toBe(0);
    expect(moved.stdout + moved.stderr).toMatch(/could not take its veths off their bridges: refused by the test/);
    agent.child.kill('SIGKILL');
    expect(runcState(service.id)?.status).toBe('running');
    expect(bridgePorts('a')).toEqual(ports);
    // It answers on the same connection.
    const { stats } = await clientReport(service.client, service.exited, service.report);
    expect(stats.error).toBeNull();
    expect(stats.continuous).toBe(true);
    expect(stats.intact).toBe(true);
    await removeContainer(service.id, { force: true });
  });

  it('a wrong token is refused before anything freezes, and a container without a veth cannot take its TCP connections along', async () => {
    const service = await serviceOnA('token');
    const agent = await receiver(7407);
    const moved = await migrateCli(service.id, 7407, 'stop-copy', [], 'wrong-token');
    expect(moved.code).not.toBe(0);
    expect(moved.stdout + moved.stderr).toMatch(/ERR_AUTH|token|authenticat/i);
    await agent.exited;
    expect(runcState(service.id)?.status).toBe('running');
    await clientReport(service.client, service.exited, service.report);
    await removeContainer(service.id, { force: true });

    const lonely = await runContainer(['sleep', '1000'], { rootfs, id: `${PREFIX}-lonely`, net: true });
    const refused = await migrateCli(lonely.id, 7408, 'stop-copy', ['--tcp-established']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/no network namespace of its own with a veth/);
    expect(runcState(lonely.id)?.status).toBe('running');
  });
});
