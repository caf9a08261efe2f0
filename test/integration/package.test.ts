// The package as npm users get it: `npm pack` ships prebuilt addons for linux-x64 and
// linux-arm64 (with freezedry-init), and the tarball installed into an empty directory, on a
// PATH without any compiler, loads its prebuild, gets its CRIU through `check --fix`, and
// checkpoints and restores a process.
// The prebuilds come from scripts/prebuild.sh (scripts/test.sh runs it first).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { canCheckpoint } from '../helpers/capabilities.js';
import { repoRoot, useWorkspace, waitFor } from '../helpers/workloads.js';

const exec = promisify(execFile);
const enabled = await canCheckpoint();
const COMPILER = /^(cc|c\+\+|gcc|g\+\+|cpp|clang|clang\+\+|make|cmake|python[\d.]*|node-gyp|.*-linux-gnu-.*|(gcc|g\+\+|cpp|clang)-[\d.]+|ld|ld\.\w+|as)$/;

/** A directory of links to every program on this PATH but compilers, build tools and python. */
function pathWithoutCompilers(dir: string): string {
  mkdirSync(dir);
  for (const bin of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!existsSync(bin)) continue;
    for (const name of readdirSync(bin)) {
      if (COMPILER.test(name) || existsSync(path.join(dir, name))) continue;
      symlinkSync(path.join(bin, name), path.join(dir, name));
    }
  }
  return dir;
}

/** The ELF machine of a file: its e_machine field. */
function machineOf(file: string): string {
  const machine = readFileSync(file).readUInt16LE(18);
  return machine === 62 ? 'x86-64' : machine === 183 ? 'aarch64' : `machine ${machine}`;
}

describe.runIf(enabled)('the npm package', () => {
  const { dir, track } = useWorkspace();

  it('ships x64 and arm64 prebuilds; installed without a compiler it loads its prebuild and dumps and restores', async () => {
    for (const [arch, machine] of [['x64', 'x86-64'], ['arm64', 'aarch64']] as const) {
      const prebuilds = path.join(repoRoot, 'prebuilds', `linux-${arch}`);
      expect(existsSync(prebuilds), `${prebuilds}: run scripts/prebuild.sh`).toBe(true);
      const addon = readdirSync(prebuilds).find((name) => name.endsWith('.node'));
      expect(addon).toMatch(/glibc/);
      expect(machineOf(path.join(prebuilds, addon as string))).toBe(machine);
      expect(machineOf(path.join(prebuilds, 'freezedry-init'))).toBe(machine);
    }

    const packed = path.join(dir(), 'packed');
    mkdirSync(packed);
    const { stdout: packJson } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packed], { cwd: repoRoot, maxBuffer: 16 << 20 });
    const [pack] = JSON.parse(packJson) as { filename: string; files: { path: string }[] }[];
    const files = (pack?.files ?? []).map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['prebuilds/linux-x64/freezedry-init', 'prebuilds/linux-arm64/freezedry-init', 'lib/index.js', 'lib/cli-bundle/main.js', 'bench/workloads/memhog.c', 'scripts/criu/lazy-pages-in-place.patch', 'scripts/criu/lazy-pages-in-place.sha256']));
    expect(files.filter((f) => f.startsWith('prebuilds/') && f.endsWith('.node'))).toHaveLength(2);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f === 'lib/demo/main.js')).toEqual([]);

    // An empty project installs the tarball with no compiler, no python, no make on its PATH.
    const project = path.join(dir(), 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-freezedry', version: '1.0.0', private: true }));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithoutCompilers(path.join(dir(), 'bin')), npm_config_nodedir: '', npm_config_audit: 'false', npm_config_fund: 'false' };
    delete env.FREEZEDRY_CRIU;
    await exec('npm', ['install', '--prefer-offline', '--no-save', path.join(packed, pack?.filename as string)], { cwd: project, env, maxBuffer: 16 << 20 });
    const installed = path.join(project, 'node_modules', 'freezedry');
    expect(existsSync(path.join(installed, 'build')), 'nothing was compiled').toBe(false);
    const { stdout: loadedFrom } = await exec(process.execPath, ['-e', `console.log(require('node-gyp-build').path(${JSON.stringify(installed)}))`], { cwd: project, env });
    expect(loadedFrom.trim()).toContain(path.join(installed, 'prebuilds', `linux-${process.arch}`));

    const cli = (...args: string[]) => exec(process.execPath, [path.join(installed, 'bin', 'freezedry.js'), ...args], { cwd: project, env, maxBuffer: 16 << 20 });
    // A fresh install has no CRIU of its own: check says how to get one, and --fix gets it with
    // the provisioning script shipped in the package (from the machine's cache of built CRIUs).
    type Report = { ok: boolean; items: { id: string; status: string; fix?: string }[] };
    const unprovisioned = JSON.parse((await cli('check', '--json').catch((e: { stdout: string }) => e)).stdout) as Report;
    expect(unprovisioned.ok).toBe(false);
    expect(unprovisioned.items.find((item) => item.id === 'criu-version')).toMatchObject({ status: 'fail', fix: expect.stringContaining("'freezedry check --fix'") });
    const fixed = JSON.parse((await cli('check', '--fix', '--json')).stdout) as Report;
    expect(fixed.items.filter((item) => item.status === 'fail')).toEqual([]);
    expect(fixed.ok).toBe(true);
    expect(readFileSync(path.join(installed, '.deps', 'criu-path'), 'utf8').trim()).toBe(path.join(installed, '.deps', 'criu', 'sbin', 'criu'));
    // The install built the CLI's start-up snapshot in place, and the installed command starts from it.
    const { stdout: viaBin } = await exec(path.join(project, 'node_modules', '.bin', 'freezedry'), ['check', '--json'], { cwd: project, env });
    expect((JSON.parse(viaBin) as Report).items.find((item) => item.id === 'cli-snapshot')).toMatchObject({ status: 'ok' });

    // A process started, dumped and restored through the installed package.
    const log = path.join(dir(), 'counter.log');
    const ran = JSON.parse((await cli('run', '--log', log, '--json', '--', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done')).stdout) as { pid: number };
    track(ran.pid);
    await waitFor('the counter to count', () => (readFileSync(log, 'utf8').split('\n').length > 3 ? true : undefined));
    const images = path.join(dir(), 'images');
    await cli('dump', String(ran.pid), '-D', images);
    const restored = JSON.parse((await cli('restore', '-D', images, '--json')).stdout) as { pid: number };
    track(restored.pid);
    const before = readFileSync(log, 'utf8').split('\n').length;
    await waitFor('the restored counter to count on', () => (readFileSync(log, 'utf8').split('\n').length > before + 3 ? true : undefined));
  });
});
