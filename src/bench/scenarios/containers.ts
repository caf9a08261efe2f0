// Scenario "containers": against memory size, a container (memhog, a third random, a third text, a
// third zeros) in a busybox rootfs, run with runc, against Podman 4.3 run with runc in the
// same run: checkpoint into an archive (`container checkpoint -o`, and with `--compression
// adaptive`, vs `podman container checkpoint --export`, and vs `runc checkpoint` into a
// directory), restore from it (vs
// `podman container restore --import`), a lazy restore until the service answers, and a
// migration of the container rewriting 64 MiB/s over a 1 Gbit/s link (auto vs stop-copy: the
// longest gap a client holding a TCP connection saw). Every tool through its CLI; Podman and
// runc find the project's CRIU first on their PATH. Podman is skipped, with a note, where it
// cannot run.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { undoIfInterrupted } from '../interrupt.js';
import { createHosts } from '../network-hosts.js';
import { compileC } from '../compile-c.js';
import { compare, criuBinary, eachPart, keepaliveClient, median, memoryAxis, freezedryCommand as cli, packageRoot, servicePort, sizeLabel, timed, untilAnswers, type BenchOptions, type Comparison, type Measurement, type PartFailure, type ScenarioResult } from '../harness.js';

const run = promisify(execFile);
// Each container gets a port of its own: a removed one's socket may linger a moment.
let nextPort = servicePort();

export async function containersScenario(options: BenchOptions): Promise<ScenarioResult> {
  const repeats = options.repeats ?? (options.quick ? 1 : 3);
  const base = path.join(os.tmpdir(), `freezedry-bench-containers-${process.pid}`);
  const env = { ...process.env, PATH: `${path.dirname(criuBinary())}:${process.env.PATH}`, FREEZEDRY_CONTAINERS: path.join(base, 'containers') };
  const sh = (argv: string[]) => run(argv[0] as string, argv.slice(1), { env, maxBuffer: 64 << 20 });
  // A scenario that failed midway, or a run interrupted, may leave a container running (and its
  // rootfs mounted under base): remove ours, runc's and Podman's, before the directory.
  const removeOurs = async () => {
    const listed = await run('runc', ['list', '--format', 'json']).catch(() => ({ stdout: 'null' }));
    for (const c of (JSON.parse(listed.stdout || 'null') as { id: string }[] | null) ?? []) {
      if (c.id.startsWith(`fzb-${process.pid}-`)) await sh([cli, 'container', 'rm', '-f', c.id]).catch(() => {});
    }
    for (let r = 0; r < repeats; r++) await sh(['podman', 'rm', '-f', '--ignore', `fzb-podman-${process.pid}-${r}`]).catch(() => {});
    await rm(base, { recursive: true, force: true }).catch(() => {});
  };
  const forget = undoIfInterrupted(removeOurs);
  await mkdir(base, { recursive: true });
  try {
    const rootfs = await memhogRootfs(path.join(base, 'rootfs'));
    const podmanReason = await podmanRuns(sh);
    const notes: string[] = podmanReason ? [`containers: Podman was not measured: ${podmanReason}`] : [];
    const measurements: Measurement[] = [];
    const comparisons: Comparison[] = [];
    const failures: PartFailure[] = [];
    await eachPart(options.sizes, sizeLabel, failures, async (mib) => {
      const at = await atSize({ mib, rootfs, base, env, sh, repeats, podmanReason, options });
      measurements.push(...at.measurements);
      comparisons.push(...at.comparisons);
    });
    const migrationSize = options.sizes.includes(1024) ? 1024 : Math.max(...options.sizes);
    const migration = await migrationDowntimes(rootfs, migrationSize, repeats, env, options);
    comparisons.push(compare(migration.auto, { ...migration.stopCopy, case: migration.auto.case }, { describe: '≤ 0.05×', met: (c) => c.ratio <= 0.05 }));
    notes.push(...migration.notes);
    measurements.push(migration.auto, migration.stopCopy);
    return { comparisons, measurements, notes, failures };
  } finally {
    forget();
    await removeOurs();
  }
}

interface SizeRun {
  mib: number;
  rootfs: string;
  base: string;
  env: NodeJS.ProcessEnv;
  sh: (argv: string[]) => Promise<unknown>;
  repeats: number;
  podmanReason: string | undefined;
  options: BenchOptions;
}

/** Checkpoint and restore of a `mib` container: freezedry, runc, Podman, in turns. */
async function atSize({ mib, rootfs, base, env, sh, repeats, podmanReason, options }: SizeRun): Promise<{ measurements: Measurement[]; comparisons: Comparison[] }> {
  const freezedry = (...args: string[]) => sh([cli, ...args]);
  const label = sizeLabel(mib);
  const m = (tool: string, what: string): Measurement => ({ scenario: 'containers', case: `${what}, ${label} container`, tool, samples: [], unit: 'ms', metric: `container ${what}`, x: memoryAxis(mib) });
  const ours = {
    checkpoint: m('freezedry container checkpoint -o', 'checkpoint into an archive'),
    adaptive: m('freezedry container checkpoint -o --compression adaptive', 'checkpoint into an archive'),
    restore: m('freezedry container restore -i', 'restore from the archive, until it answers'),
    lazy: m('freezedry container restore -i --lazy', 'restore from the archive, until it answers'),
  };
  const runcDir = m('runc checkpoint (a directory)', 'checkpoint into an archive');
  const podman = {
    checkpoint: m('podman container checkpoint --export', 'checkpoint into an archive'),
    restore: m('podman container restore --import', 'restore from the archive, until it answers'),
  };
  const service = (port: number) => ['memhog', String(mib), '--serve', String(port)];
  for (let r = 0; r < repeats; r++) {
    options.progress.sample(`container ${label}: freezedry and runc`, r + 1, repeats);
    // freezedry: checkpoint (the container stops), restore, lazy restore (each removed before the next).
    const id = `fzb-${process.pid}-${r}`;
    const archive = path.join(base, `${id}.tar.zst`);
    let port = nextPort++;
    await freezedry('container', 'run', '--name', id, '--rootfs', rootfs, '--', ...service(port));
    await untilAnswers(port);
    ours.checkpoint.samples.push((await timed(() => freezedry('container', 'checkpoint', id, '-o', archive)))[0]);
    await freezedry('container', 'rm', '-f', id);
    ours.restore.samples.push((await timed(async () => {
      await freezedry('container', 'restore', '-i', archive);
      await untilAnswers(port);
    }))[0]);
    await freezedry('container', 'rm', '-f', id);
    // The lazy restore's CLI stays until the memory is in; the service answers long before.
    const lazyStart = performance.now();
    const lazy = spawn(cli, ['container', 'restore', '-i', archive, '--lazy'], { env, stdio: 'ignore' });
    const lazyDone = new Promise((resolve) => lazy.once('exit', resolve));
    await untilAnswers(port);
    ours.lazy.samples.push(performance.now() - lazyStart);
    await lazyDone;
    await freezedry('container', 'rm', '-f', id);
    await rm(archive, { force: true });

    // The same checkpoint, its compression adaptive.
    port = nextPort++;
    await freezedry('container', 'run', '--name', id, '--rootfs', rootfs, '--', ...service(port));
    await untilAnswers(port);
    ours.adaptive.samples.push((await timed(() => freezedry('container', 'checkpoint', id, '-o', archive, '--compression', 'adaptive')))[0]);
    await freezedry('container', 'rm', '-f', id);
    await rm(archive, { force: true });

    // runc's own checkpoint of the same container, into a directory.
    port = nextPort++;
    await freezedry('container', 'run', '--name', id, '--rootfs', rootfs, '--', ...service(port));
    await untilAnswers(port);
    const images = path.join(base, `${id}-runc`);
    runcDir.samples.push((await timed(() => sh(['runc', 'checkpoint', '--image-path', images, '--work-path', images, id])))[0]);
    await freezedry('container', 'rm', '-f', id);
    await rm(images, { recursive: true, force: true });
  }
  if (!podmanReason) {
    const image = `localhost/fzbench-${process.pid}:1`;
    await sh(['sh', '-c', `tar -C '${rootfs}' -c . | podman import - ${image}`]);
    try {
      for (let r = 0; r < repeats; r++) {
        options.progress.sample(`container ${label}: podman`, r + 1, repeats);
        const name = `fzb-podman-${process.pid}-${r}`;
        const exported = path.join(base, `${name}.tar.zst`);
        const port = nextPort++;
        await sh(['podman', 'run', '-d', '--name', name, '--runtime', 'runc', '--network', 'host', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096', image, ...service(port)]);
        await untilAnswers(port);
        podman.checkpoint.samples.push((await timed(() => sh(['podman', 'container', 'checkpoint', '--export', exported, name])))[0]);
        await sh(['podman', 'rm', '-f', name]);
        podman.restore.samples.push((await timed(async () => {
          await sh(['podman', 'container', 'restore', '--import', exported]);
          await untilAnswers(port);
        }))[0]);
        await sh(['podman', 'rm', '-f', name]);
        await rm(exported, { force: true });
      }
    } finally {
      await sh(['podman', 'rmi', '-f', image]).catch(() => {});
    }
  }
  const comparisons: Comparison[] = [
    compare(ours.checkpoint, runcDir, { describe: '≤ 1.2×', met: (c) => c.ratio <= 1.2 }),
    compare(ours.adaptive, runcDir, { describe: '≤ 1.2×', met: (c) => c.ratio <= 1.2 }),
  ];
  if (!podmanReason) {
    comparisons.push(
      compare(ours.checkpoint, podman.checkpoint, { describe: '≤ 0.25×', met: (c) => c.ratio <= 0.25 }),
      compare(ours.restore, podman.restore, { describe: '≤ 0.25×', met: (c) => c.ratio <= 0.25 }),
      compare(ours.lazy, podman.restore, { describe: '≤ 0.05×', met: (c) => c.ratio <= 0.05 }),
    );
  }
  return { comparisons, measurements: [...Object.values(ours), runcDir, ...(podmanReason ? [] : Object.values(podman))] };
}

/** Why Podman cannot checkpoint with runc here, or undefined when it can. */
async function podmanRuns(sh: (argv: string[]) => Promise<unknown>): Promise<string | undefined> {
  try {
    await sh(['podman', '--version']);
    await sh(['runc', '--version']);
    return undefined;
  } catch (error) {
    return `podman or runc missing (${(error as Error).message.split('\n')[0]}); 'npm run provision -- --test' installs Podman`;
  }
}

/** busybox and a static memhog: a rootfs that needs no registry. */
async function memhogRootfs(dir: string): Promise<string> {
  for (const sub of ['bin', 'usr/bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) await mkdir(path.join(dir, sub), { recursive: true });
  await copyFile('/bin/busybox', path.join(dir, 'bin/busybox'));
  await symlink('busybox', path.join(dir, 'bin/sh'));
  const memhog = await compileC(path.join(packageRoot, 'bench', 'workloads', 'memhog.c'), 'freezedry-bench-bin', { static: true });
  await copyFile(memhog, path.join(dir, 'usr/bin/memhog'));
  await run('chmod', ['755', path.join(dir, 'usr/bin/memhog')]);
  return dir;
}

/**
 * The container, rewriting 64 MiB/s, in its own network namespace on host a's bridge, moved
 * to host b over 1 Gbit/s (auto and stop-copy), a client on a third host holding a keep-alive
 * connection: the longest gap between its answers.
 */
async function migrationDowntimes(rootfs: string, mib: number, repeats: number, env: NodeJS.ProcessEnv, options: BenchOptions) {
  const hosts = createHosts({ rate: options.link });
  const sample = (mode: string): Measurement => ({
    scenario: 'containers',
    case: `container migration, ${sizeLabel(mib)} rewriting 64 MiB/s over ${options.link}: client-observed downtime`,
    tool: mode,
    samples: [],
    unit: 'ms',
  });
  const auto = sample('freezedry container migrate (auto)');
  const stopCopy = sample('container migrate --mode stop-copy');
  const notes: string[] = [];
  const bRunc = `/run/runc-fzbench-${process.pid}`;
  const bEnv = { ...env, FREEZEDRY_CONTAINERS: `${env.FREEZEDRY_CONTAINERS}-b` };
  let port = 7600;
  try {
    for (let r = 0; r < repeats; r++) {
      for (const [mode, into] of [['auto', auto], ['stop-copy', stopCopy]] as const) {
        options.progress.sample(`container migration ${sizeLabel(mib)}: ${mode}`, r + 1, repeats);
        const id = `fzbm-${process.pid}-${mode}-${r}`;
        await run(cli, ['container', 'run', '--net', '--name', id, '--rootfs', rootfs, '--', 'memhog', String(mib), '--dirty', '64', '--serve', '8080'], { env });
        const state = JSON.parse((await run('runc', ['state', id])).stdout) as { pid: number };
        const address = hosts.attachService(hosts.a, state.pid);
        const log = path.join(env.FREEZEDRY_CONTAINERS as string, id, 'container.log');
        for (let i = 0; i < 1200 && !(await readFile(log, 'utf8').catch(() => '')).includes('SERVING'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
        const watcher = await keepaliveClient(hosts.client, address, 8080);
        const listen = `${hosts.b.address}:${port++}`;
        const receiver = spawn('nsenter', [...hosts.b.prefix.slice(1), cli, 'receive', '--listen', listen, '--token', 'bench', '--runc-root', bRunc, '--once'], { env: bEnv, stdio: 'ignore' });
        const received = new Promise((resolve) => receiver.once('exit', resolve));
        await new Promise((resolve) => setTimeout(resolve, 500));
        const migrating = spawn('nsenter', [...hosts.a.prefix.slice(1), cli, 'container', 'migrate', id, '--to', listen, '--token', 'bench', '--mode', mode, '--tcp-established', '--json'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        migrating.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        const code = await new Promise((resolve) => migrating.once('exit', resolve));
        if (code !== 0) setTimeout(() => receiver.kill('SIGKILL'), 2000).unref();
        await received;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const report = await watcher.stop();
        const result = JSON.parse(out) as { mode: string; frozenMs: number; rounds?: unknown[]; freezeSteps?: Record<string, number>; error?: unknown };
        if (result.error) throw new Error(`container migrate ${mode} failed: ${JSON.stringify(result.error)}`);
        const seen = JSON.parse(report) as { longestGapMs: number; error: string | null; continuous: boolean };
        if (seen.error || !seen.continuous) throw new Error(`the client lost its connection in a container ${mode}: ${report}`);
        into.samples.push(seen.longestGapMs);
        notes.push(`container migration ${mode}: chose ${result.mode}${result.rounds ? ` (${result.rounds.length} rounds)` : ''}, frozen ${result.frozenMs.toFixed(0)} ms${result.freezeSteps ? ` (${Object.entries(result.freezeSteps).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')})` : ''}, the client's longest gap ${seen.longestGapMs.toFixed(0)} ms`);
        await run(cli, ['container', 'rm', '-f', '--runc-root', bRunc, id], { env: bEnv }).catch(() => {});
      }
    }
  } finally {
    // Whatever a failed run left: the sources on a (they resume on failure) and copies on b.
    for (const [root, envOf] of [[undefined, env], [bRunc, bEnv]] as const) {
      const listed = await run('runc', [...(root ? ['--root', root] : []), 'list', '--format', 'json']).catch(() => ({ stdout: 'null' }));
      for (const c of (JSON.parse(listed.stdout || 'null') as { id: string }[] | null) ?? []) {
        if (c.id.startsWith(`fzbm-${process.pid}-`)) await run(cli, ['container', 'rm', '-f', ...(root ? ['--runc-root', root] : []), c.id], { env: envOf }).catch(() => {});
      }
    }
    await rm(bRunc, { recursive: true, force: true });
    hosts.destroy();
  }
  notes.push(`container migration: auto ${median(auto.samples).toFixed(0)} ms vs stop-copy ${median(stopCopy.samples).toFixed(0)} ms (client-observed)`);
  return { auto, stopCopy, notes };
}
