// A container's filesystem changes: read from an overlay upper dir (whiteouts are deletions),
// written as rootfs-diff.tar and deleted.files, applied to another rootfs, never outside it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyRootfsDiff, rootfsFingerprint, upperChanges, writeRootfsDiff } from '../../src/container/rootfs-diff.js';
import { containerSpec } from '../../src/container/spec.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'freezedry-rootfs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rootfs changes', () => {
  it('reads an upper dir: changed paths, and whiteouts as deletions; applies them to another rootfs', async () => {
    const upper = path.join(dir, 'upper');
    mkdirSync(path.join(upper, 'etc'), { recursive: true });
    writeFileSync(path.join(upper, 'etc/hostname'), 'changed\n');
    execFileSync('mknod', [path.join(upper, 'etc/removeme'), 'c', '0', '0']); // overlayfs's whiteout
    symlinkSync('hostname', path.join(upper, 'etc/link'));
    const changes = await upperChanges(upper);
    expect(changes.deleted).toEqual(['/etc/removeme']);
    expect(changes.changed).toEqual(['etc', 'etc/hostname', 'etc/link']);

    const out = path.join(dir, 'out');
    mkdirSync(out);
    await writeRootfsDiff(upper, changes, out);
    const listed = execFileSync('tar', ['-tf', path.join(out, 'rootfs-diff.tar')], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(listed.sort()).toEqual(['etc/', 'etc/hostname', 'etc/link']);

    const target = path.join(dir, 'target');
    mkdirSync(path.join(target, 'etc'), { recursive: true });
    writeFileSync(path.join(target, 'etc/removeme'), 'x');
    writeFileSync(path.join(target, 'etc/hostname'), 'image\n');
    const deleted = JSON.parse(readFileSync(path.join(out, 'deleted.files'), 'utf8')) as unknown;
    await applyRootfsDiff(target, { tarFile: path.join(out, 'rootfs-diff.tar'), deleted });
    expect(readFileSync(path.join(target, 'etc/hostname'), 'utf8')).toBe('changed\n');
    expect(readFileSync(path.join(target, 'etc/link'), 'utf8')).toBe('changed\n');
    expect(existsSync(path.join(target, 'etc/removeme'))).toBe(false);
  });

  it('a container that changed nothing has an empty rootfs-diff.tar, which applies as nothing', async () => {
    const upper = path.join(dir, 'upper-empty');
    const out = path.join(dir, 'out-empty');
    for (const d of [upper, out]) mkdirSync(d);
    const changes = await upperChanges(upper);
    expect(changes).toEqual({ changed: [], deleted: [] });
    await writeRootfsDiff(upper, changes, out);
    expect(execFileSync('tar', ['-tf', path.join(out, 'rootfs-diff.tar')], { encoding: 'utf8' })).toBe('');
    const target = path.join(dir, 'target-empty');
    mkdirSync(target);
    writeFileSync(path.join(target, 'kept'), 'kept');
    await applyRootfsDiff(target, { tarFile: path.join(out, 'rootfs-diff.tar'), deleted: [] });
    expect(readFileSync(path.join(target, 'kept'), 'utf8')).toBe('kept');
  });

  it('a directory removed and made again in a mounted overlay (opaque) deletes what it held below', async () => {
    const [lower, upper, work, merged] = ['lower', 'upper2', 'work', 'merged'].map((name) => path.join(dir, name)) as [string, string, string, string];
    for (const d of [path.join(lower, 'data/sub'), upper, work, merged]) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(lower, 'data/old'), 'old');
    writeFileSync(path.join(lower, 'data/sub/deep'), 'deep');
    writeFileSync(path.join(lower, 'kept'), 'kept');
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    try {
      rmSync(path.join(merged, 'data'), { recursive: true });
      mkdirSync(path.join(merged, 'data'));
      writeFileSync(path.join(merged, 'data/new'), 'new');
      const changes = await upperChanges(upper, { lower, merged });
      expect(changes.changed).toEqual(['data', 'data/new']);
      expect(changes.deleted).toEqual(['/data/old', '/data/sub']);
      // Without the overlay's view, only whiteouts count: the opaque directory's hidden entries are missed.
      expect((await upperChanges(upper)).deleted).toEqual([]);
    } finally {
      execFileSync('umount', [merged]);
    }
  });

  it('refuses deletions that lead outside the rootfs, through .. or a symlink', async () => {
    const target = path.join(dir, 'target2');
    mkdirSync(target);
    const outside = path.join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'precious'), 'keep');
    symlinkSync(outside, path.join(target, 'escape'));
    await expect(applyRootfsDiff(target, { deleted: ['/escape/precious'] })).rejects.toMatchObject({ code: 'ERR_ARCHIVE_UNSAFE_PATH' });
    await expect(applyRootfsDiff(target, { deleted: ['/'] })).rejects.toMatchObject({ code: 'ERR_ARCHIVE_UNSAFE_PATH' });
    await applyRootfsDiff(target, { deleted: ['/../outside/precious'] }); // resolves to /outside/precious inside the rootfs: absent there
    await expect(applyRootfsDiff(target, { deleted: 'not a list' })).rejects.toMatchObject({ code: 'ERR_ARCHIVE_CORRUPT' });
    expect(readFileSync(path.join(outside, 'precious'), 'utf8')).toBe('keep');
  });

  it('fingerprints a tree: the same tree the same, one more file different', async () => {
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'bin'), { recursive: true });
    writeFileSync(path.join(tree, 'bin/a'), 'a');
    const first = await rootfsFingerprint(tree);
    expect(await rootfsFingerprint(tree)).toBe(first);
    writeFileSync(path.join(tree, 'bin/b'), 'b');
    expect(await rootfsFingerprint(tree)).not.toBe(first);
  });
});

describe('container spec', () => {
  it('has a network namespace only with net, and no rlimit above the host hard limit', () => {
    const base = { args: ['sh'], hostname: 'c', nofileLimit: 512 };
    const shared = containerSpec({ ...base, net: false });
    const own = containerSpec({ ...base, net: true });
    const types = (spec: Record<string, unknown>) => ((spec.linux as { namespaces: { type: string }[] }).namespaces).map((n) => n.type);
    expect(types(shared)).not.toContain('network');
    expect(types(own)).toContain('network');
    expect((own.process.rlimits as { hard: number }[])[0]?.hard).toBe(512);
    expect(own.process.terminal).toBe(false);
  });
});
