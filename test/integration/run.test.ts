// run(): workloads in their own pid (and net) namespaces, as session leaders.
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/run.js';
import { readStat } from '../../src/process/proc.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { logText, useWorkspace, waitFor } from '../helpers/workloads.js';

const enabled = await canCheckpoint();

function namespacePids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^NSpid:\s*(.*)$/m)?.[1] ?? '';
  return line.split(/\s+/).map(Number);
}

describe.runIf(enabled)('run', () => {
  const { dir, track } = useWorkspace();

  it('starts a session leader that is pid 1 of a new pid namespace, output in its log', async () => {
    const logFile = path.join(dir(), 'hello.log');
    const { pid } = await run(['sh', '-c', 'echo hello from $$; exec sleep 600'], { logFile });
    track(pid);
    expect(readStat(pid)?.sid).toBe(pid);
    expect(namespacePids(pid)).toEqual([pid, 1]);
    await waitFor('the greeting', () => (logText(logFile).includes('hello from 1') ? true : undefined));
    await waitFor('the exec', () => (readStat(pid)?.comm === 'sleep' ? true : undefined));
  });

  it('with net, gives it its own network namespace with loopback up', async () => {
    const { pid } = await run(['sleep', '600'], { net: true, logFile: path.join(dir(), 'net.log') });
    track(pid);
    expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    const links = execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-o', 'link', 'show', 'lo'], { encoding: 'utf8' });
    expect(links).toMatch(/state UNKNOWN|UP/);
  });

  it('returns the pid of a command that execs itself again (shims, interpreters)', async () => {
    const { pid } = await run(['sh', '-c', 'exec sh -c "exec sleep 600"'], { logFile: path.join(dir(), 'shim.log') });
    track(pid);
    await waitFor('the final exec', () => (readStat(pid)?.comm === 'sleep' ? true : undefined));
  });

  it('ERR_WORKLOAD_START_FAILED names why a command could not start', async () => {
    await expect(run(['/nonexistent/program'], { logFile: path.join(dir(), 'fail.log') })).rejects.toMatchObject({
      code: 'ERR_WORKLOAD_START_FAILED',
      message: expect.stringContaining('No such file or directory'),
    });
    await expect(run([])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});
