// The freezedry command, bin/freezedry: it starts the CLI from its V8 start-up snapshot when the
// build made one for this node and this directory, falls back to bin/freezedry.js otherwise, and
// keeps NODE_EXTRA_CA_CERTS away from node's start but not from the programs a command starts.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freezedryCommand, logText, repoRoot, useWorkspace, waitFor } from '../helpers/workloads.js';

const exec = promisify(execFile);

type CheckItem = { id: string; status: string; detail: string };
const startUpItem = (stdout: string) => (JSON.parse(stdout) as { items: CheckItem[] }).items.find((item) => item.id === 'cli-snapshot');
const checkJson = (command: string, args: string[] = [], options: string[] = []) =>
  exec(command, [...args, 'check', '--json', ...options]).catch((failed: { stdout: string }) => failed);

describe('the freezedry command', () => {
  const { dir, track } = useWorkspace();

  it('starts from the start-up snapshot the build made, and bin/freezedry.js does not', async () => {
    expect(startUpItem((await checkJson(freezedryCommand)).stdout)).toMatchObject({ status: 'ok', detail: expect.stringContaining('lib/cli-snapshot/cli.blob') });
    expect(startUpItem((await checkJson(process.execPath, [path.join(repoRoot, 'bin', 'freezedry.js')])).stdout)).toMatchObject({ status: 'warn' });
  });

  it('starts from the snapshot through a link, as npm installs the command, and by a relative path', async () => {
    const inUse = { status: 'ok', detail: `in use: ${path.join(repoRoot, 'lib', 'cli-snapshot', 'cli.blob')}` };
    const link = path.join(dir(), 'freezedry');
    symlinkSync(freezedryCommand, link);
    expect(startUpItem((await checkJson(link)).stdout)).toMatchObject(inUse);
    const relative = await exec(path.join('.', 'bin', 'freezedry'), ['check', '--json'], { cwd: repoRoot }).catch((failed: { stdout: string }) => failed);
    expect(startUpItem(relative.stdout)).toMatchObject(inUse);
    // A link to the bin directory: `..` in the paths the launcher builds is the package's root.
    const linkedBin = path.join(dir(), 'linked-bin');
    symlinkSync(path.join(repoRoot, 'bin'), linkedBin);
    expect(startUpItem((await checkJson(path.join(linkedBin, 'freezedry'))).stdout)).toMatchObject(inUse);
    expect((await exec(path.join(linkedBin, 'freezedry'), ['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a copy of the package in another directory does not use the snapshot built for this one, and still runs', async () => {
    const copy = path.join(dir(), 'copy');
    mkdirSync(copy);
    for (const part of ['bin', 'lib', 'scripts', 'package.json']) cpSync(path.join(repoRoot, part), path.join(copy, part), { recursive: true });
    for (const part of ['node_modules', 'build', '.deps']) symlinkSync(path.join(repoRoot, part), path.join(copy, part));
    const item = startUpItem((await checkJson(path.join(copy, 'bin', 'freezedry'))).stdout);
    expect(item).toMatchObject({ status: 'warn', detail: `built for ${repoRoot.replace(/\/$/, '')}, not this directory` });
    // check --fix builds one for the copy, which its next command starts from.
    expect(startUpItem((await checkJson(path.join(copy, 'bin', 'freezedry'), [], ['--fix'])).stdout)).toMatchObject({ status: 'ok', detail: expect.stringContaining('the next command starts from it') });
    expect(startUpItem((await checkJson(path.join(copy, 'bin', 'freezedry'))).stdout)).toMatchObject({ status: 'ok', detail: `in use: ${path.join(copy, 'lib', 'cli-snapshot', 'cli.blob')}` });
  });

  it("hides NODE_EXTRA_CA_CERTS from node's start and gives it back to the programs a command starts", async () => {
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir(), 'no-such-ca.pem') };
    // node itself reads the file as it starts, and warns that it is missing.
    const plain = await exec(process.execPath, [path.join(repoRoot, 'bin', 'freezedry.js'), '--version'], { env });
    expect(plain.stderr).toContain('Ignoring extra certs');
    const ours = await exec(freezedryCommand, ['--version'], { env });
    expect(ours.stderr).toBe('');
    expect(ours.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);

    const log = path.join(dir(), 'env.log');
    const script = 'echo "ca=$NODE_EXTRA_CA_CERTS hidden=${FREEZEDRY_NODE_EXTRA_CA_CERTS-unset}"; exec sleep 60';
    const ran = await exec(freezedryCommand, ['run', '--log', log, '--json', '--', 'sh', '-c', script], { env });
    track((JSON.parse(ran.stdout) as { pid: number }).pid);
    const line = await waitFor('the program to print its environment', () => logText(log).split('\n').find((text) => text.startsWith('ca=')));
    expect(line).toBe(`ca=${env.NODE_EXTRA_CA_CERTS} hidden=unset`);
  });

  it('keeps exit codes and error output the same as bin/freezedry.js', async () => {
    const both = await Promise.all(
      [
        [freezedryCommand, 'dump', '2147483646', '-D', path.join(dir(), 'never')],
        [process.execPath, path.join(repoRoot, 'bin', 'freezedry.js'), 'dump', '2147483646', '-D', path.join(dir(), 'never')],
      ].map(([command, ...args]) => exec(command as string, args).then(() => ({ code: 0, stderr: '' }), (failed: { code: number; stderr: string }) => failed)),
    );
    expect(both[0]?.code).toBeGreaterThan(0);
    expect(both[0]?.code).toBe(both[1]?.code);
    expect(both[0]?.stderr).toBe(both[1]?.stderr);
    expect(both[0]?.stderr).toContain('ERR_NO_SUCH_PROCESS');
  });
});
