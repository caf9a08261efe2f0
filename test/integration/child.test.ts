// Child processes started through the addon's posix_spawn (src/process/child.ts): how CRIU and
// the benchmark's timed commands run, so that the size of this process is no part of their time.
import { closeSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native/binding.js';
import { runChild, startChild } from '../../src/process/child.js';
import { readStat } from '../../src/process/proc.js';

describe('child processes without fork()', () => {
  it('reports how a child ended, with what it said on stdout and on stderr', async () => {
    expect(await runChild(['sh', '-c', 'echo out; echo err >&2'])).toEqual({ stdout: 'out\n', stderr: 'err\n' });
    await expect(runChild(['sh', '-c', 'echo said; echo went wrong >&2; exit 3'])).rejects.toMatchObject({
      message: expect.stringMatching(/exited with status 3: went wrong/),
      code: 3,
      stdout: 'said\n',
    });
  });

  it('leaves nothing behind that keeps this process running once the child has ended', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const child = startChild(['sh', '-c', 'sleep 0.05']);
    await child.exited;
    // A command (freezedry dump) exits when its loop is empty: a pending timer held it 1 s.
    expect(timers()).toBe(before);
  });

  it('gives the child exactly the environment asked, and its fds from 3 on', async () => {
    const [read, write] = native().pipe();
    const child = startChild(['sh', '-c', 'echo "${HOME:-no home} $ONLY" >&3'], { env: { PATH: process.env.PATH, ONLY: 'this' }, extraFds: [write] });
    closeSync(write);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(readFileSync(read, 'utf8')).toBe('no home this\n');
    closeSync(read);
  });

  it('kills a child through its pidfd, and reaps it', async () => {
    const child = startChild(['sleep', '600']);
    expect(readStat(child.pid)?.comm).toBe('sleep');
    child.kill();
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(child.hasExited()).toBe(true);
    expect(readStat(child.pid)).toBeUndefined(); // no zombie left
  });

  it('starts a detached helper in a session of its own, and still kills and reaps it', async () => {
    const helper = startChild(['sleep', '600'], { detached: true });
    expect(readStat(helper.pid)?.sid).toBe(helper.pid);
    expect(helper.stdout()).toBe('');
    helper.kill();
    expect(await helper.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(readStat(helper.pid)).toBeUndefined();
  });

  it('throws the reason when the program cannot be started', () => {
    expect(() => startChild(['/nonexistent/freezedry-no-such-program'])).toThrow(/ENOENT/);
  });
});
