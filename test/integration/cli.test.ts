// The freezedry command line, run as a user would: real processes, real exit codes.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { httpRequest, freePort, logText, freezedryCommand, repoRoot, stateServiceScript, waitFor, useWorkspace } from '../helpers/workloads.js';

const execFileAsync = promisify(execFile);
const enabled = await canCheckpoint();

async function freezedry(args: string[], options: { uid?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(freezedryCommand, args, { uid: options.uid, gid: options.uid });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.runIf(enabled)('freezedry CLI', () => {
  const { dir, track } = useWorkspace();

  it('check reports CRIU, kernel features and fixes, and --json carries the same report', async () => {
    const human = await freezedry(['check']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/CRIU 4\.\d+\.\d+ at /);
    expect(human.stdout).toMatch(/soft-dirty/);
    expect(human.stdout).toMatch(/userfaultfd/);
    expect(human.stdout).toMatch(/pipe-max-size/);
    expect(human.stdout).toMatch(/iptables/);
    const json = JSON.parse((await freezedry(['check', '--json'])).stdout);
    expect(json.ok).toBe(true);
    expect(json.features).toHaveProperty('lazyPages');
    // The dirty tracker is its own item, agreeing with what attaching it to a process says.
    const tracker = (json.items as { id: string; status: string }[]).find((item) => item.id === 'dirty-tracker');
    const { probeDirtyTracking } = await import('../../src/pages/dirty-tracker.js');
    expect(tracker?.status).toBe((await probeDirtyTracking()).works ? 'ok' : 'warn');
  });

  it('run, dump and restore a service with criu flag names, proving its state came back', async () => {
    const port = await freePort();
    const log = path.join(dir(), 'service.log');
    const ran = await freezedry(['run', '--log', log, '--json', '--', process.execPath, stateServiceScript, '--port', String(port), '--mb', '16']);
    expect(ran.code).toBe(0);
    const { pid } = JSON.parse(ran.stdout) as { pid: number };
    track(pid);
    await waitFor('the service', () => (logText(log).includes('listening') ? true : undefined));
    await httpRequest(port, 'POST', '/increment?by=9');
    const before = await httpRequest(port, 'GET', '/state');

    const imagesDir = path.join(dir(), 'cli-images');
    const dumped = await freezedry(['dump', String(pid), '-D', imagesDir, '--tcp-established', '--file-locks', '--json']);
    expect(dumped.code).toBe(0);
    expect(JSON.parse(dumped.stdout)).toMatchObject({ pid, imagesDir, leftRunning: false, stats: { pagesWritten: expect.any(Number) } });

    const restored = await freezedry(['restore', '-D', imagesDir, '--tcp-established', '--file-locks']);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/^Restored pid (\d+) from /);
    track(Number(restored.stdout.match(/^Restored pid (\d+)/)?.[1]));
    expect(await httpRequest(port, 'GET', '/state')).toEqual(before);
  });

  it('maps error codes to exit statuses and prints the code', async () => {
    const missing = await freezedry(['restore', '-D', path.join(dir(), 'nothing-here')]);
    expect(missing.code).toBe(exitCodeFor('ERR_IMAGES_MISSING'));
    expect(missing.stderr).toContain('ERR_IMAGES_MISSING');
    const noProcess = await freezedry(['dump', '4194300', '-D', path.join(dir(), 'x'), '--json']);
    expect(noProcess.code).toBe(exitCodeFor('ERR_NO_SUCH_PROCESS'));
    expect(JSON.parse(noProcess.stdout).error.code).toBe('ERR_NO_SUCH_PROCESS');
    const usage = await freezedry(['dump', 'abc', '-D', path.join(dir(), 'y')]);
    expect(usage.code).toBe(2);
    const unknownFlag = await freezedry(['dump', '1', '--no-such-flag']);
    expect(unknownFlag.code).toBe(2);
  });

  it('prints its version, alone (answered without loading the CLI) and beside another option (through the CLI), as package.json has it', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const args of [['--version'], ['-V'], ['--verbose', '--version']]) {
      expect(await freezedry(args)).toMatchObject({ code: 0, stdout: `${version}\n` });
    }
  });

  it('refuses to run without root, with its own exit status', async () => {
    const result = await freezedry(['dump', '1', '-D', path.join(dir(), 'z')], { uid: 65534 });
    expect(result.code).toBe(exitCodeFor('ERR_NOT_PERMITTED'));
    expect(result.stderr).toContain('needs root');
  });
});
