// Archives: dumped straight into a compressed, seekable .tar.zst, read back by freezedry, by
// zstd and tar, and by the criu CLI; and every way an archive can be damaged.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Header } from 'tar';
import { describe, expect, it } from 'vitest';
import { ArchiveBuilder } from '../../src/archive/archive-builder.js';
import { cpuFlags, sourceHost } from '../../src/archive/manifest.js';
import { ISA_FLAGS } from '../../src/archive/compatibility.js';
import { Archive, checkpoint, exportArchive, importArchive, inspect, listCheckpoints, removeCheckpoint, restore } from '../../src/index.js';
import { native } from '../../src/native/binding.js';
import { readStat, waitUntilGone } from '../../src/process/proc.js';
import { run } from '../../src/run.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { httpRequest, isRunningNotStopped, logText, freezedryCommand, onSmallDisk, repoRoot, runCli, startStateService, useWorkspace, waitFor } from '../helpers/workloads.js';

const exec = promisify(execFile);

/** A hand-made archive of one entry, named `name` in the index and `tarPath` in its tar header. */
async function writeOneEntryArchive(file: string, name: string, tarPath: string, body: Buffer): Promise<void> {
  const fd = openSync(file, 'w');
  const writer = new (native().ArchiveWriter)(fd, { level: 1, frameSize: 1 << 20, threads: 1 });
  const header = new Header({ path: tarPath, size: body.length, mode: 0o600, type: 'File', mtime: new Date() });
  header.encode();
  writer.beginEntry(name, header.block as Buffer);
  writer.write(body);
  writer.endEntry();
  await writer.finish(false);
  closeSync(fd);
}
const enabled = await canCheckpoint();
const criu = readFileSync(path.join(repoRoot, '.deps', 'criu-path'), 'utf8').trim();

describe.runIf(enabled)('archives', () => {
  const { dir, track } = useWorkspace();
  let archiveOfService = '';
  let serviceState: Awaited<ReturnType<typeof httpRequest>>;
  let servicePort = 0;

  /** Once the dumped service `pid` is gone: restored from `archive`, it answers on `port` with `state`; then it is ended. */
  async function restoresWithState(archive: string, pid: number, port: number, state: unknown): Promise<void> {
    await waitUntilGone([pid], 5000);
    const restored = await restore({ archive });
    track(restored.pid);
    expect(await httpRequest(port, 'GET', '/state')).toEqual(state);
    process.kill(restored.pid, 'SIGKILL');
    await waitUntilGone([restored.pid], 5000);
  }

  it('dumps a service straight into an archive and restores it from there with its state', async () => {
    const service = await startStateService({ mb: 32, logDir: dir() });
    track(service.pid);
    servicePort = service.port;
    await httpRequest(service.port, 'POST', '/increment?by=17');
    serviceState = await httpRequest(service.port, 'GET', '/state');
    archiveOfService = path.join(dir(), 'service.tar.zst');
    const progress: number[] = [];
    const dumped = await checkpoint(service.pid, { archive: archiveOfService, leaveRunning: true, onProgress: (p) => progress.push(p.bytes) });
    expect(dumped.archive?.file).toBe(archiveOfService);
    expect(dumped.archive?.bytes).toBeLessThan(dumped.archive?.uncompressedBytes ?? 0); // compressed
    expect(existsSync(`${archiveOfService}.partial`)).toBe(false);
    expect(isRunningNotStopped(service.pid)).toBe(true);
    process.kill(service.pid, 'SIGKILL');
    await restoresWithState(archiveOfService, service.pid, service.port, serviceState);
  });

  it('adaptive compression: frames the compressors cannot keep up with are stored, and every reader takes them', async () => {
    const service = await startStateService({ mb: 32, logDir: dir() });
    track(service.pid);
    await httpRequest(service.port, 'POST', '/increment?by=23');
    const state = await httpRequest(service.port, 'GET', '/state');
    const file = path.join(dir(), 'adaptive.tar.zst');
    // zstd's level 19 keeps every compressor busy for a long time: the writer stores what it reaches.
    // The smallest buffer for compression, too: the dump waits for the compressors sooner.
    const dumped = await checkpoint(service.pid, { archive: file, archiveOptions: { compression: 'adaptive', level: 19, bufferBytes: 16 << 20 } });
    expect(dumped.archive?.storedBytes).toBeGreaterThan(1 << 20);
    expect(dumped.archive?.storedBytes).toBeLessThan(dumped.archive?.uncompressedBytes ?? 0);
    await exec('zstd', ['-t', '-q', file]); // any zstd decoder reads stored frames and checks their checksums
    await restoresWithState(file, service.pid, service.port, state);
  });

  it('a compression mode, zstd level or compression buffer that does not exist: ERR_INVALID_ARG_VALUE before anything is frozen or written', async () => {
    const { pid } = await run(['sleep', '600'], { logFile: path.join(dir(), 'bad-options.log') });
    track(pid);
    const file = path.join(dir(), 'bad-options.tar.zst');
    for (const archiveOptions of [{ compression: 'fastest' as 'full' }, { level: Number.NaN }, { level: 99 }, { bufferBytes: 1 << 20 }, { bufferBytes: Number.NaN }]) {
      await expect(checkpoint(pid, { archive: file, archiveOptions })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      expect(existsSync(file) || existsSync(`${file}.partial`)).toBe(false);
    }
    // The CLI's --buffer: a size it cannot read is refused the same way; one it can, taken.
    const refused = await runCli(['dump', String(pid), '-o', file, '--leave-running', '--buffer', '4 gigs']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/ERR_INVALID_ARG_VALUE.*compression buffer.*NaN/);
    const taken = await runCli(['dump', String(pid), '-o', file, '--leave-running', '--buffer', '64M', '--json']);
    expect(taken.code, taken.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(isRunningNotStopped(pid)).toBe(true);
  });

  it('round-trips through zstd, tar and the criu CLI', async () => {
    const unpacked = path.join(dir(), 'unpacked');
    mkdirSync(unpacked);
    execFileSync('sh', ['-c', `zstd -dc '${archiveOfService}' | tar -x -C '${unpacked}'`]);
    expect(readdirSync(unpacked)).toEqual(expect.arrayContaining(['freezedry.json', 'pstree.img', 'inventory.img']));
    expect(readdirSync(unpacked).some((name) => /^pages-\d+\.img$/.test(name))).toBe(true);
    const pidfile = path.join(dir(), 'cli-restored.pid');
    await exec(criu, ['restore', '-D', unpacked, '-d', '-o', 'restore.log', '--pidfile', pidfile]);
    const pid = Number(readFileSync(pidfile, 'utf8'));
    track(pid);
    expect(await httpRequest(servicePort, 'GET', '/state')).toEqual(serviceState);
    process.kill(pid, 'SIGKILL');
    await waitUntilGone([pid], 5000);
  });

  it('reads any entry and any page range without unpacking, and inspect reports what the checkpoint holds', async () => {
    const archive = await Archive.open(archiveOfService);
    const pages = archive.entries.find((entry) => entry.name.startsWith('pages-'));
    expect(pages).toBeDefined();
    const middle = Math.floor((pages?.size ?? 0) / 2 / 4096) * 4096;
    const page = await archive.readPart(pages?.name as string, middle, 4096);
    expect(page.length).toBe(4096);
    expect(await archive.read('pstree.img')).toBeInstanceOf(Buffer);
    archive.close();

    const report = await inspect(archiveOfService);
    expect(report.kind).toBe('archive');
    expect(report.tasks[0]).toMatchObject({ pid: 1, comm: 'node' });
    expect(report.memory.dumpedBytes).toBeGreaterThan(16 << 20);
    expect(report.memory.byKind.anonymous?.dumpedBytes).toBeGreaterThan(0);
    expect(report.files.some((f) => f.kind === 'inet socket' && f.description.includes(`:${servicePort}`) && f.description.includes('LISTEN'))).toBe(true);
    expect(report.sizes.compressionRatio).toBeLessThan(1);
    expect(report.source?.criuVersion).toMatch(/^4\./);
    expect(report.source?.cpuFlags.length).toBeGreaterThan(0);
    expect(report.criuStats?.pagesWritten).toBeGreaterThan(0);
  });

  it('streams pages through the page sink into a plain directory that the criu CLI restores', async () => {
    const { pid } = await run(['sleep', '600'], { logFile: path.join(dir(), 'sink.log') });
    track(pid);
    const imagesDir = path.join(dir(), 'sink-images');
    await checkpoint(pid, { imagesDir, pageSink: true });
    expect(readdirSync(imagesDir).filter((name) => /^pages-\d+\.img$/.test(name)).length).toBeGreaterThan(0);
    const pidfile = path.join(dir(), 'sink-restored.pid');
    await exec(criu, ['restore', '-D', imagesDir, '-d', '-o', 'restore.log', '--pidfile', pidfile]);
    const restored = Number(readFileSync(pidfile, 'utf8'));
    track(restored);
    expect(isRunningNotStopped(restored)).toBe(true);
  });

  it('exports a directory and imports it back, byte for byte', async () => {
    const { pid } = await run(['sleep', '600'], { logFile: path.join(dir(), 'export.log') });
    track(pid);
    const imagesDir = path.join(dir(), 'export-src');
    await checkpoint(pid, { imagesDir, leaveRunning: true });
    const file = path.join(dir(), 'exported.tar.zst');
    const exported = await exportArchive(imagesDir, file);
    expect(exported.bytes).toBeGreaterThan(0);
    const back = path.join(dir(), 'export-back');
    await importArchive(file, back);
    for (const name of readdirSync(imagesDir)) {
      expect(readFileSync(path.join(back, name)).equals(readFileSync(path.join(imagesDir, name))), name).toBe(true);
    }
  });

  it('keeps named checkpoints in the store: ls, restore by name, rm', async () => {
    const storeRoot = path.join(dir(), 'store');
    const { pid } = await run(['sleep', '600'], { logFile: path.join(dir(), 'store.log') });
    track(pid);
    await checkpoint(pid, { name: 'first', storeRoot, leaveRunning: true });
    await checkpoint(pid, { name: 'second', storeRoot, leaveRunning: true });
    const list = await listCheckpoints(storeRoot);
    expect(list.map((c) => c.name)).toEqual(['first', 'second']);
    expect(list[0]).toMatchObject({ pid, tasks: 1, command: 'sleep 600' });
    await removeCheckpoint('first', storeRoot);
    expect((await listCheckpoints(storeRoot)).map((c) => c.name)).toEqual(['second']);
    await expect(restore({ name: 'first', storeRoot })).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_NOT_FOUND' });
    await expect(checkpoint(pid, { name: '../escape', storeRoot })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  describe('damaged archives are refused with the cause named', () => {
    /**
     * The middle of the zstd frame that holds `position` of the tar stream, from the seek table
     * (zstd's seekable format: entries of compressed and decompressed u32 sizes, checksums if the
     * descriptor's top bit is set, then a 9-byte footer).
     */
    function compressedOffsetOf(bytes: Buffer, position: number): number {
      const footer = bytes.length - 9;
      const frames = bytes.readUInt32LE(footer);
      const entrySize = bytes[footer + 4]! & 0x80 ? 12 : 8;
      let table = footer - frames * entrySize;
      let compressed = 0;
      let decompressed = 0;
      for (let i = 0; i < frames; i++, table += entrySize) {
        const [c, d] = [bytes.readUInt32LE(table), bytes.readUInt32LE(table + 4)];
        if (position < decompressed + d) return compressed + Math.floor(c / 2);
        compressed += c;
        decompressed += d;
      }
      throw new Error(`position ${position} is past the archive's frames`);
    }

    function copyOf(name: string): string {
      const file = path.join(dir(), name);
      execFileSync('cp', [archiveOfService, file]);
      return file;
    }

    it('a truncated archive: ERR_ARCHIVE_TRUNCATED', async () => {
      const file = copyOf('truncated.tar.zst');
      truncateSync(file, Math.floor(readFileSync(file).length / 2));
      await expect(restore({ archive: file })).rejects.toMatchObject({ code: 'ERR_ARCHIVE_TRUNCATED' });
      await expect(importArchive(file, path.join(dir(), 'never-1'))).rejects.toMatchObject({ code: 'ERR_ARCHIVE_TRUNCATED' });
    });

    it('a flipped byte: ERR_ARCHIVE_CORRUPT naming the entry, and nothing left unpacked', async () => {
      const file = copyOf('flipped.tar.zst');
      const archive = await Archive.open(archiveOfService);
      const pages = archive.entries.find((entry) => entry.name.startsWith('pages-')) as { name: string; dataOffset: number; size: number };
      archive.close();
      const fd = openSync(file, 'r+');
      // Inside the compressed frame that holds the middle of the page data (a fixed offset could
      // land on a tar header's raw frame, whose unused bytes no checksum covers).
      const at = compressedOffsetOf(readFileSync(file), pages.dataOffset + Math.floor(pages.size / 2));
      const byte = readFileSync(file)[at] as number;
      writeSync(fd, Buffer.from([byte ^ 0x10]), 0, 1, at);
      closeSync(fd);
      const target = path.join(dir(), 'never-2');
      const error = await importArchive(file, target).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_ARCHIVE_CORRUPT' });
      expect((error as Error).message).toContain(pages.name);
      expect(readdirSync(target)).toEqual([]);
    });

    it('a wrong magic: ERR_ARCHIVE_FORMAT; a future format version: ERR_ARCHIVE_VERSION', async () => {
      const file = copyOf('magic.tar.zst');
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.from('GIF8'), 0, 4, 0);
      closeSync(fd);
      await expect(inspect(file)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_FORMAT' });

      const future = path.join(dir(), 'future.tar.zst');
      const manifest = Buffer.from(JSON.stringify({ format: 'freezedry-archive', version: 99, entries: [] }));
      await writeOneEntryArchive(future, 'freezedry.json', 'freezedry.json', manifest);
      await expect(restore({ archive: future })).rejects.toMatchObject({ code: 'ERR_ARCHIVE_VERSION', message: expect.stringContaining('version 99') });
    });

    it('a tar entry that would escape the target directory: ERR_ARCHIVE_UNSAFE_PATH, nothing written', async () => {
      const evil = path.join(dir(), 'evil.tar.zst');
      await writeOneEntryArchive(evil, 'escaped', '../../escaped.txt', Buffer.from('owned'));
      const target = path.join(dir(), 'sub', 'target');
      await expect(importArchive(evil, target)).rejects.toMatchObject({ code: 'ERR_ARCHIVE_UNSAFE_PATH' });
      expect(existsSync(path.join(dir(), 'escaped.txt'))).toBe(false);
      expect(existsSync(path.join(dir(), 'sub', 'escaped.txt'))).toBe(false);
    });

    it('an archive from a host whose CPU had more: ERR_INCOMPATIBLE_HOST naming the features, unless forced', async () => {
      const here = new Set(cpuFlags());
      const missing = [...ISA_FLAGS].filter((flag) => !here.has(flag));
      expect(missing.length).toBeGreaterThan(0); // (a host with every one of them cannot be given a gap)
      const imported = path.join(dir(), 'for-incompatible');
      await importArchive(archiveOfService, imported);
      const file = path.join(dir(), 'incompatible.tar.zst');
      const builder = await ArchiveBuilder.create(file);
      await builder.addDirectory(imported);
      const archive = await Archive.open(archiveOfService);
      const source = { ...sourceHost('4.2.1'), hostname: 'bigger-box', cpuFlags: [...here, ...missing] };
      await builder.finish({ createdAt: new Date().toISOString(), source, summary: archive.manifest.summary });
      archive.close();
      const error = await restore({ archive: file }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_INCOMPATIBLE_HOST' });
      expect((error as Error).message).toContain(missing[0]);
      expect((error as Error).message).toContain('bigger-box');
      const forced = await restore({ archive: file, force: true });
      track(forced.pid);
      expect(isRunningNotStopped(forced.pid)).toBe(true);
      process.kill(forced.pid, 'SIGKILL');
    });
  });

  it('a disk filling up mid-dump: ERR_NO_SPACE, the process keeps running, no archive under the final name', async () => {
    await onSmallDisk(dir(), '8m', async (small) => {
      const service = await startStateService({ mb: 48, logDir: dir() });
      track(service.pid);
      await httpRequest(service.port, 'POST', '/increment?by=5');
      const file = path.join(small, 'full.tar.zst');
      const error = await checkpoint(service.pid, { archive: file, archiveOptions: { level: 1 } }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_NO_SPACE' });
      expect((error as Error).message).toMatch(/No space left/);
      expect(isRunningNotStopped(service.pid)).toBe(true);
      expect((await httpRequest(service.port, 'GET', '/state')).counter).toBe(5);
      expect(readdirSync(small)).toEqual([]);
    });
  });

  it('SIGINT during a CLI dump: the process is resumed and no archive is left', async () => {
    const service = await startStateService({ mb: 256, logDir: dir() });
    track(service.pid);
    const file = path.join(dir(), 'interrupted.tar.zst');
    const cli = spawn(freezedryCommand, ['dump', String(service.pid), '-o', file, '--level', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor('the dump to start writing', () => (existsSync(`${file}.partial`) ? true : undefined));
    cli.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
    expect(code).toBe(130);
    expect(stderr).toContain('ABORT_ERR');
    expect(isRunningNotStopped(service.pid)).toBe(true);
    expect(await httpRequest(service.port, 'GET', '/state')).toMatchObject({ megabytes: 256 });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });

  it('SIGKILL of the CLI mid-dump: the process runs on, and the output stays marked .partial', async () => {
    const service = await startStateService({ mb: 256, logDir: dir() });
    track(service.pid);
    const file = path.join(dir(), 'killed.tar.zst');
    const cli = spawn(freezedryCommand, ['dump', String(service.pid), '-o', file, '--level', '3'], { stdio: 'ignore' });
    await waitFor('the dump to start writing', () => (existsSync(`${file}.partial`) ? true : undefined));
    cli.kill('SIGKILL');
    await new Promise((resolve) => cli.once('exit', resolve));
    await waitFor('the process to run again', () => (isRunningNotStopped(service.pid) ? true : undefined), 10_000);
    expect(await httpRequest(service.port, 'GET', '/state')).toMatchObject({ megabytes: 256 });
    expect(existsSync(file)).toBe(false);
  });

  it('an archive that cannot be completed after CRIU dumped the tree: the tree is resumed, not ended', async () => {
    const service = await startStateService({ mb: 128, logDir: dir() });
    track(service.pid);
    await httpRequest(service.port, 'POST', '/increment?by=3');
    const file = path.join(dir(), 'taken-meanwhile.tar.zst');
    // The final name is taken once CRIU has dumped everything (its post-dump notification), so
    // the last step (the rename) fails: CRIU kept the tree stopped instead of ending it.
    const takeName = ({ name }: { name: string }) => {
      if (name === 'post-dump') mkdirSync(file, { recursive: true });
    };
    const error = await checkpoint(service.pid, { archive: file, onNotification: takeName }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    await waitFor('the process to run again', () => (isRunningNotStopped(service.pid) ? true : undefined), 10_000);
    expect((await httpRequest(service.port, 'GET', '/state')).counter).toBe(3);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });

  it('restoring an archive twice in place while the first restore runs: ERR_PID_IN_USE', async () => {
    const child = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
    const pid = child.pid as number;
    track(pid);
    await waitFor('sleep to start', () => (readStat(pid)?.comm === 'sleep' ? true : undefined));
    const file = path.join(dir(), 'twice.tar.zst');
    await checkpoint(pid, { archive: file });
    const first = await restore({ archive: file });
    track(first.pid);
    expect(first.pid).toBe(pid);
    await expect(restore({ archive: file })).rejects.toMatchObject({ code: 'ERR_PID_IN_USE' });
    expect(isRunningNotStopped(first.pid)).toBe(true);
    void logText;
  });
});
