// Containers through the real runc and CRIU: a busybox rootfs with a static service holding
// 256 MiB, checkpointed and restored every way, its file changes and a client's TCP connection
// kept; the failure paths leave nothing behind; a real Podman export is read by inspect.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpoint,
  checkpointContainer,
  inspect,
  listCheckpoints,
  listContainers,
  removeCheckpoint,
  removeContainer,
  restore,
  restoreContainer,
  run,
  runContainer,
} from '../../src/index.js';
import { bundleOf } from '../../src/container/bundle.js';
import { locateRunc } from '../../src/container/runc.js';
import type { ContainerFacts } from '../../src/container/layout.js';
import { ArchiveBuilder } from '../../src/archive/archive-builder.js';
import { cpuFlags, sourceHost } from '../../src/archive/manifest.js';
import { ISA_FLAGS } from '../../src/archive/compatibility.js';
import { directorySource } from '../../src/images/image-source.js';
import { summarizeCheckpoint } from '../../src/images/image-summary.js';
import { containerSpec } from '../../src/container/spec.js';
import { logRelay } from '../../src/container/stdio.js';
import { ServiceClient, busyboxRootfs } from '../helpers/containers.js';
import { freezedryCommand, onSmallDisk, repoRoot, tempDir, removeDir } from '../helpers/workloads.js';

const exec = promisify(execFile);
const PREFIX = `fdt${process.pid}`;
const HOST_PORT = 7311;
const NET_PORT = 7000;
const MIB = 256;

let dir = '';
let rootfs = '';
let store = '';

/** "check" sent from inside a container's network namespace (it has its own loopback). */
async function checkInside(pid: number): Promise<[string, string, number]> {
  const { stdout } = await exec('nsenter', ['-t', String(pid), '-n', 'sh', '-c', `echo check | busybox nc -w 2 127.0.0.1 ${NET_PORT}`]);
  const [ok, start, now, requests] = stdout.trim().split(' ');
  if (ok !== 'ok') throw new Error(`unexpected answer '${stdout}'`);
  return [start as string, now as string, Number(requests)];
}

async function waitForService(pid: number): Promise<[string, string, number]> {
  for (let i = 0; ; i++) {
    try {
      return await checkInside(pid);
    } catch (error) {
      if (i > 100) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const id = (name: string) => `${PREFIX}-${name}`;
const fileIn = (containerId: string, file: string) => path.join(bundleOf(containerId).rootfs, file);

beforeAll(async () => {
  dir = await tempDir();
  rootfs = await busyboxRootfs(path.join(dir, 'rootfs'));
  store = path.join(dir, 'store');
}, 120_000);

afterAll(async () => {
  for (const c of await listContainers().catch(() => [])) {
    if (c.id.startsWith(PREFIX)) await removeContainer(c.id, { force: true }).catch(() => {});
  }
  await exec('podman', ['rm', '-f', id('podman')]).catch(() => {});
  await removeDir(dir);
});

describe('a container on the host network, with file changes and a client connection', () => {
  const host = id('host');
  const script = `echo changed > /etc/hostname; echo new > /data/added; rm /etc/removeme; exec container-service ${HOST_PORT} ${MIB}`;

  it('restores from a directory under its own ID: memory, files and the established connection intact', async () => {
    await runContainer(['sh', '-c', script], { rootfs, id: host });
    const client = await ServiceClient.connect(HOST_PORT);
    try {
      const [start, now, served] = await client.check();
      expect(now).toBe(start);

      const images = path.join(dir, 'host-dir');
      const result = await checkpointContainer(host, { imagesDir: images, tcpEstablished: true });
      expect(result.leftRunning).toBe(false);
      expect(result.rootfsChanges.deleted).toBe(1);
      expect((await listContainers()).find((c) => c.id === host)?.status).toBe('absent');
      for (const name of ['spec.dump', 'rootfs-diff.tar', 'deleted.files', 'stats-dump', 'checkpoint/pstree.img']) {
        expect(existsSync(path.join(images, name)), name).toBe(true);
      }
      expect(JSON.parse(readFileSync(path.join(images, 'deleted.files'), 'utf8'))).toEqual(['/etc/removeme']);

      const restored = await restoreContainer({ imagesDir: images });
      expect(restored.id).toBe(host);
      // The same connection, the same memory, the request count carried on.
      const [start2, now2, served2] = await client.check();
      expect([start2, now2, served2]).toEqual([start, start, served + 1]);
      expect(readFileSync(fileIn(host, 'etc/hostname'), 'utf8')).toBe('changed\n');
      expect(readFileSync(fileIn(host, 'data/added'), 'utf8')).toBe('new\n');
      expect(readFileSync(fileIn(host, 'data/kept'), 'utf8')).toBe('from the image\n');
      expect(existsSync(fileIn(host, 'etc/removeme'))).toBe(false);
    } finally {
      client.close();
    }
  });

  it('a checkpoint that fails (a full disk) leaves it running, and no partial archive', async () => {
    await onSmallDisk(dir, '4m', async (small) => {
      const target = path.join(small, 'c.tar.zst');
      await expect(checkpointContainer(host, { archive: target })).rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
      expect(existsSync(target)).toBe(false);
      expect(existsSync(`${target}.partial`)).toBe(false);
      const state = (await listContainers()).find((c) => c.id === host);
      expect(state?.status).toBe('running');
      const client = await ServiceClient.connect(HOST_PORT);
      const [start, now] = await client.check();
      expect(now).toBe(start);
      client.close();
    });
  });

  it('a pause that fails as the dump begins is a coded error that says why, and leaves it running', async () => {
    // runc pauses it as its CRIU's dump begins (container/pause.ts): a runc whose pause fails.
    const refusing = path.join(dir, 'runc-no-pause');
    await writeFile(refusing, `#!/bin/sh\nfor a in "$@"; do [ "$a" = pause ] && { echo "pause refused by the test" >&2; exit 1; }; done\nexec ${locateRunc()} "$@"\n`, { mode: 0o755 });
    const saved = process.env.FREEZEDRY_RUNC;
    const target = path.join(dir, 'no-pause.tar.zst');
    try {
      process.env.FREEZEDRY_RUNC = refusing;
      await expect(checkpointContainer(host, { archive: target })).rejects.toMatchObject({
        code: 'ERR_RUNC_FAILED',
        message: expect.stringMatching(/Could not pause the container .* for its dump: runc pause failed: .*pause refused by the test/),
      });
    } finally {
      if (saved === undefined) delete process.env.FREEZEDRY_RUNC;
      else process.env.FREEZEDRY_RUNC = saved;
    }
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.partial`)).toBe(false);
    expect((await listContainers()).find((c) => c.id === host)?.status).toBe('running');
    const client = await ServiceClient.connect(HOST_PORT);
    const [start, now] = await client.check();
    expect(now).toBe(start);
    client.close();
  });

  it('an archive checkpoint that stops it restores from the archive', async () => {
    const archive = path.join(dir, 'host.tar.zst');
    const reports: { bytes: number; estimatedBytes: number }[] = [];
    const result = await checkpointContainer(host, { archive, onProgress: (p) => reports.push(p) });
    expect(result.archive?.bytes).toBeGreaterThan(MIB * 1024 * 1024 * 0.9); // random memory does not compress
    // Progress as checkpoint()'s: the pages streamed so far, against what the tree holds.
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.at(-1)?.estimatedBytes).toBeGreaterThan(MIB * 1024 * 1024);
    expect(reports.map((r) => r.bytes)).toEqual([...reports.map((r) => r.bytes)].sort((x, y) => x - y));
    expect((await listContainers()).find((c) => c.id === host)?.status).toBe('absent');
    await restoreContainer({ archive });
    const client = await ServiceClient.connect(HOST_PORT);
    const [start, now] = await client.check();
    expect(now).toBe(start);
    client.close();
    expect(readFileSync(fileIn(host, 'data/added'), 'utf8')).toBe('new\n');
  });
});

describe('clones beside a running original (own network namespaces)', () => {
  const original = id('net');
  let archive = '';
  let atCheckpoint: [string, string, number];

  beforeAll(async () => {
    const info = await runContainer(['sh', '-c', `echo clone-me > /data/added; exec container-service ${NET_PORT} ${MIB}`], { rootfs, id: original, net: true });
    atCheckpoint = await waitForService(info.pid);
    archive = path.join(dir, 'net.tar.zst');
    await checkpointContainer(original, { archive, leaveRunning: true });
  }, 120_000);

  async function expectClone(cloneId: string): Promise<void> {
    const clone = (await listContainers()).find((c) => c.id === cloneId);
    expect(clone?.status).toBe('running');
    const [start, now, served] = await checkInside(clone?.pid as number);
    expect([start, now, served]).toEqual([atCheckpoint[0], atCheckpoint[0], atCheckpoint[2] + 1]);
    expect(readFileSync(fileIn(cloneId, 'data/added'), 'utf8')).toBe('clone-me\n');
    const originalNow = (await listContainers()).find((c) => c.id === original);
    expect(originalNow?.status).toBe('running');
  }

  it('restores from the archive as a new container', async () => {
    await restoreContainer({ archive, id: id('clone-archive') });
    await expectClone(id('clone-archive'));
  });

  it('restores from the store, which lists it as a container', async () => {
    await checkpointContainer(original, { name: `${PREFIX}-stored`, storeRoot: store, leaveRunning: true });
    const listed = (await listCheckpoints(store)).find((c) => c.name === `${PREFIX}-stored`);
    expect(listed).toMatchObject({ kind: 'container', container: original });
    // The store's copy was taken later: the service answered more requests since.
    const restored = await restoreContainer({ name: `${PREFIX}-stored`, storeRoot: store, id: id('clone-store') });
    const [start, now] = await checkInside(restored.pid);
    expect(now).toBe(start);
    expect(start).toBe(atCheckpoint[0]);
    await removeCheckpoint(`${PREFIX}-stored`, store);
  });

  it('restores lazily from the archive through the CLI, which stays until the memory is in', async () => {
    const { stdout } = await exec(freezedryCommand, ['container', 'restore', '-i', archive, '--lazy', '--json', id('clone-lazy')]);
    const report = JSON.parse(stdout) as { id: string; fill: { pagesCopied: number; pagesTotal: number } };
    expect(report.id).toBe(id('clone-lazy'));
    expect(report.fill.pagesTotal).toBeGreaterThan((MIB * 256) / 2);
    await expectClone(id('clone-lazy'));
  });

  it('inspect reads it: engine, container, processes, memory', async () => {
    const report = await inspect(archive);
    expect(report.container).toMatchObject({ engine: 'freezedry', id: original });
    expect(report.tasks.map((t) => t.comm)).toContain('container-servi');
    expect(report.memory.dumpedBytes).toBeGreaterThan(MIB * 1024 * 1024);
  });
});

describe('a runc container freezedry did not start (its own runc root, a plain rootfs)', () => {
  it('checkpoints with the whole rootfs (--with-rootfs) and restores it over nothing else', async () => {
    const runcRoot = path.join(dir, 'runc-root');
    const bundle = path.join(dir, 'plain-bundle');
    const plainId = id('plain');
    await mkdir(bundle, { recursive: true });
    await exec('cp', ['-a', rootfs, path.join(bundle, 'rootfs')]);
    // runc makes its network namespace (no path): CRIU brings it back empty, freezedry raises loopback.
    const spec = containerSpec({ args: ['sh', '-c', `echo plain > /data/added; exec container-service ${NET_PORT} 16`], hostname: 'plain', net: true, nofileLimit: 1024 });
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify({ ...spec, root: { path: 'rootfs', readonly: false } }));
    const stdio = logRelay(path.join(dir, 'plain.log'));
    await new Promise<void>((resolve, reject) => {
      const child = spawn('runc', ['--root', runcRoot, 'run', '--detach', '--bundle', bundle, plainId], { stdio: stdio.fds });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc run exited ${code}`))));
    });
    stdio.close();
    const [started] = await waitForService(Number(JSON.parse((await exec('runc', ['--root', runcRoot, 'state', plainId])).stdout).pid));

    const archive = path.join(dir, 'plain.tar.zst');
    const done = await checkpointContainer(plainId, { runcRoot, archive, withRootfs: true });
    expect(done.rootfsChanges.changed).toBeGreaterThan(3); // every top-level entry of the rootfs
    expect((await listContainers({ runcRoot })).some((c) => c.id === plainId)).toBe(false);
    // Restored under another ID, with no rootfs given: the archive carries it.
    const restored = await restoreContainer({ archive, id: id('plain-back') });
    const [start, now] = await waitForService(restored.pid);
    expect([start, now]).toEqual([started, started]);
    expect(readFileSync(fileIn(id('plain-back'), 'data/added'), 'utf8')).toBe('plain\n');
    expect(readFileSync(fileIn(id('plain-back'), 'usr/bin/container-service')).length).toBeGreaterThan(100_000);
  });
});

describe('bad input: a coded error, and nothing left behind', () => {
  const leftovers = async () => (await listContainers()).map((c) => c.id).filter((c) => c.startsWith(PREFIX));

  it('names a container that does not exist', async () => {
    await expect(checkpointContainer(id('nope'), { imagesDir: path.join(dir, 'nope') })).rejects.toMatchObject({ code: 'ERR_NO_SUCH_CONTAINER' });
    await expect(removeContainer(id('nope'))).rejects.toMatchObject({ code: 'ERR_NO_SUCH_CONTAINER' });
  });

  it('refuses a missing rootfs and a taken ID without leaving a bundle', async () => {
    const before = await leftovers();
    await expect(runContainer(['sh'], { rootfs: path.join(dir, 'missing'), id: id('bad') })).rejects.toMatchObject({ code: 'ERR_ROOTFS_MISSING' });
    await expect(runContainer(['sh'], { rootfs, id: id('net') })).rejects.toMatchObject({ code: 'ERR_CONTAINER_EXISTS' });
    expect(await leftovers()).toEqual(before);
    expect(existsSync(bundleOf(id('bad')).dir)).toBe(false);
  });

  it('refuses a restore over another rootfs, into a taken ID, or of the wrong kind of checkpoint', async () => {
    const before = await leftovers();
    const archive = path.join(dir, 'net.tar.zst');
    const other = await busyboxRootfs(path.join(dir, 'other-rootfs'));
    await writeFile(path.join(other, 'etc/extra'), 'not in the original image\n');
    await expect(restoreContainer({ archive, id: id('mismatch'), rootfs: other })).rejects.toMatchObject({ code: 'ERR_ROOTFS_MISMATCH' });
    await expect(restoreContainer({ archive })).rejects.toMatchObject({ code: 'ERR_CONTAINER_EXISTS' });
    await expect(restore({ archive })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_CHECKPOINT' });
    const { pid } = await run(['sleep', '60']);
    const processArchive = path.join(dir, 'process.tar.zst');
    await checkpoint(pid, { archive: processArchive });
    await expect(restoreContainer({ archive: processArchive })).rejects.toMatchObject({ code: 'ERR_NOT_A_CONTAINER_CHECKPOINT' });
    expect(await leftovers()).toEqual(before);
    expect(existsSync(bundleOf(id('mismatch')).dir)).toBe(false);
  });

  it('refuses an archive made on a host whose CPU had more (ERR_INCOMPATIBLE_HOST, no bundle left), unless forced', async () => {
    const original = id('cpu');
    await runContainer(['container-service', String(NET_PORT), '16'], { rootfs, id: original, net: true });
    const images = path.join(dir, 'cpu-dir');
    await checkpointContainer(original, { imagesDir: images, leaveRunning: true });
    // The same checkpoint as an archive whose manifest says its host had more CPU features.
    const here = new Set(cpuFlags());
    const missing = [...ISA_FLAGS].filter((flag) => !here.has(flag));
    expect(missing.length).toBeGreaterThan(0); // (a host with every one of them cannot be given a gap)
    const file = path.join(dir, 'cpu.tar.zst');
    const builder = await ArchiveBuilder.create(file);
    await builder.addDirectory(path.join(images, 'checkpoint'), new Set(), 'checkpoint/');
    await builder.addDirectory(images, new Set(['dump.log']));
    const summary = await summarizeCheckpoint(directorySource(path.join(images, 'checkpoint')));
    const facts = JSON.parse(readFileSync(path.join(images, 'freezedry-container.json'), 'utf8')) as ContainerFacts;
    await builder.finish({ createdAt: new Date().toISOString(), source: { ...sourceHost('4.2.1'), hostname: 'bigger-box', cpuFlags: [...here, ...missing] }, summary, container: facts });
    const copy = id('cpu-copy');
    const error = await restoreContainer({ archive: file, id: copy }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_INCOMPATIBLE_HOST', message: expect.stringMatching(/bigger-box/) });
    expect(existsSync(bundleOf(copy).dir)).toBe(false);
    const forced = await restoreContainer({ archive: file, id: copy, force: true });
    const [start, now] = await waitForService(forced.pid);
    expect(now).toBe(start);
  });

  it('refuses a CRI-O checkpoint, naming what only CRI-O can give back, and leaves no bundle', async () => {
    const crio = path.join(dir, 'crio-export');
    await mkdir(path.join(crio, 'checkpoint'), { recursive: true });
    const spec = { ociVersion: '1.0.2', process: { args: ['sleep'] }, root: { path: 'rootfs' }, annotations: { 'io.kubernetes.cri-o.ContainerID': 'abc', 'io.kubernetes.cri-o.ContainerName': 'web' } };
    await writeFile(path.join(crio, 'spec.dump'), JSON.stringify(spec));
    await expect(restoreContainer({ imagesDir: crio, id: id('crio'), rootfs })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_CHECKPOINT', message: expect.stringMatching(/CRI-O/) });
    expect(existsSync(bundleOf(id('crio')).dir)).toBe(false);
  });

  it('says when runc is missing or too old', async () => {
    const saved = process.env.FREEZEDRY_RUNC;
    try {
      process.env.FREEZEDRY_RUNC = path.join(dir, 'no-runc');
      await expect(listContainers()).rejects.toMatchObject({ code: 'ERR_RUNC_NOT_FOUND' });
      const old = path.join(dir, 'old-runc');
      await writeFile(old, '#!/bin/sh\necho "runc version 1.0.0"\n', { mode: 0o755 });
      process.env.FREEZEDRY_RUNC = old;
      await expect(listContainers()).rejects.toMatchObject({ code: 'ERR_RUNC_TOO_OLD' });
    } finally {
      if (saved === undefined) delete process.env.FREEZEDRY_RUNC;
      else process.env.FREEZEDRY_RUNC = saved;
    }
  });
});

describe('Podman checkpoint exports', () => {
  it('inspect reads an export Podman made with runc, and freezedry restores it over the image rootfs: memory and files', async () => {
    const image = `localhost/${PREFIX}:1`;
    const criuDir = path.dirname(readFileSync(path.join(repoRoot, '.deps/criu-path'), 'utf8').trim());
    const env = { ...process.env, PATH: `${criuDir}:${process.env.PATH}` };
    await exec('sh', ['-c', `tar -C '${rootfs}' -c . | podman import - ${image}`], { env });
    await exec(
      'podman',
      ['run', '-d', '--name', id('podman'), '--runtime', 'runc', '--network', 'none', '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096', image, 'sh', '-c', 'echo podman > /data/added; rm /etc/removeme; exec container-service 7000 16'],
      { env },
    );
    const exported = path.join(dir, 'podman.tar.zst');
    await exec('podman', ['container', 'checkpoint', '--export', exported, id('podman')], { env });
    const report = await inspect(exported);
    expect(report.container).toMatchObject({ engine: 'podman', name: id('podman'), image, runtime: 'runc' });
    expect(report.tasks.map((t) => t.comm)).toEqual(['container-servi']);
    expect(report.memory.dumpedBytes).toBeGreaterThan(16 * 1024 * 1024);

    // freezedry restores it with runc over the image's rootfs: memory, files and loopback back,
    // on a host where Podman's container (and its files) are gone.
    await exec('podman', ['rm', '-f', id('podman')]);
    await expect(restoreContainer({ archive: exported, id: id('from-podman') })).rejects.toMatchObject({ code: 'ERR_ROOTFS_MISSING' });
    const restored = await restoreContainer({ archive: exported, id: id('from-podman'), rootfs });
    const [start, now] = await waitForService(restored.pid);
    expect(now).toBe(start);
    expect(readFileSync(fileIn(id('from-podman'), 'data/added'), 'utf8')).toBe('podman\n');
    expect(existsSync(fileIn(id('from-podman'), 'etc/removeme'))).toBe(false);
    // Podman's own files (hostname, hosts, .containerenv, /dev/shm) were made anew in the bundle.
    expect(existsSync(path.join(bundleOf(id('from-podman')).dir, 'engine'))).toBe(true);
    await exec('podman', ['rmi', '-f', image]).catch(() => {});
  });
});
