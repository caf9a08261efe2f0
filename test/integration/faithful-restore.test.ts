// Every restore path brings a tree back running, not just present: a pre-fork server (our own
// and nginx), threads waiting on a futex, interval timers and a TCP connection with full queues,
// through restore -D, -i, --lazy -D and --lazy -i of the CLI, which exits as a user's would.
// A restore of an archive keeps copy-on-write sharing, and a tree that dies is a failure.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { checkpoint, restore } from '../../src/index.js';
import { processTree, readStat, waitUntilGone } from '../../src/process/proc.js';
import { run } from '../../src/run.js';
import { capabilities, canCheckpoint } from '../helpers/capabilities.js';
import { compileFixture, freePort, killTree, logText, useWorkspace, waitFor, runCli } from '../helpers/workloads.js';

const enabled = (await canCheckpoint()) && (await capabilities()).lazyPages;
const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (enabled && !nginx) console.warn('nginx is not installed (scripts/provision.sh --test installs it): its cases are skipped');

/** One request on its own connection; the whole answer once the server closes it. */
function ask(port: number, request = 'GET / HTTP/1.0\r\n\r\n'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer on port ${port} within 5 s`)));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.write(request);
  });
}

/** Pss and Rss of a whole tree, in KiB (smaps_rollup of each process). */
function treeMemory(root: number): { pss: number; rss: number } {
  let pss = 0;
  let rss = 0;
  for (const pid of processTree(root)) {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    pss += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    rss += Number(/^Rss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
  }
  return { pss, rss };
}

interface Workload {
  name: string;
  /** Starts it; resolves with what `check` compares against. */
  start(dir: string): Promise<{ pid: number; log: string; port?: number; expect: string }>;
  /** Proves the restored tree works: resolves with the value to compare with `expect`. */
  check(pid: number, log: string, port?: number): Promise<string>;
  dumpFlags?: string[];
}

const paths = [
  { name: 'restore -D', dump: 'dir', restore: [] as string[] },
  { name: 'restore -i', dump: 'archive', restore: [] as string[] },
  { name: 'restore --lazy -D', dump: 'dir', restore: ['--lazy'] },
  { name: 'restore --lazy -i', dump: 'archive', restore: ['--lazy'] },
] as const;

describe.runIf(enabled)('faithful restores', () => {
  const { dir, track } = useWorkspace();

  async function startFixture(args: string[], name: string): Promise<{ pid: number; log: string }> {
    const binary = await compileFixture('restore-workloads');
    const log = path.join(dir(), `${name}-${Date.now()}.log`);
    const { pid } = await run([binary, ...args], { logFile: log });
    track(pid);
    await waitFor(`${name} to be ready`, () => (logText(log).includes('READY') ? true : undefined));
    return { pid, log };
  }

  /** The next line matching `pattern` that appears after `signal` is sent to `pid`. */
  async function answerTo(pid: number, log: string, pattern: RegExp, signal: NodeJS.Signals = 'SIGUSR1'): Promise<string> {
    const seen = (logText(log).match(new RegExp(pattern.source, 'gm')) ?? []).length;
    process.kill(pid, signal);
    return waitFor(`an answer matching ${pattern}`, () => (logText(log).match(new RegExp(pattern.source, 'gm')) ?? [])[seen], 10_000);
  }

  const workloads: Workload[] = [
    {
      name: 'a pre-fork server (master waiting for signals, two workers in epoll)',
      async start() {
        const port = await freePort();
        const { pid, log } = await startFixture(['prefork', String(port), '4'], 'prefork');
        const answer = await ask(port, 'x');
        return { pid, log, port, expect: `3 processes, checksum ${answer.split(' ')[1]?.trim()}` };
      },
      async check(pid, _log, port) {
        const answer = await ask(port as number, 'x');
        return `${processTree(pid).length} processes, checksum ${answer.split(' ')[1]?.trim()}`;
      },
    },
    ...(nginx
      ? [
          {
            name: 'nginx (a master and two workers)',
            async start(work: string) {
              const port = await freePort();
              const prefix = path.join(work, `nginx-${port}`);
              mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
              const conf = path.join(prefix, 'nginx.conf');
              writeFileSync(
                conf,
                [
                  'daemon off; master_process on; worker_processes 2; user root;',
                  `pid ${prefix}/nginx.pid; error_log ${prefix}/error.log;`,
                  'events { worker_connections 64; }',
                  `http { access_log off; client_body_temp_path ${prefix}/tmp; proxy_temp_path ${prefix}/tmp; fastcgi_temp_path ${prefix}/tmp;`,
                  `  uwsgi_temp_path ${prefix}/tmp; scgi_temp_path ${prefix}/tmp;`,
                  `  server { listen 127.0.0.1:${port}; location / { return 200 "nginx answers\\n"; } } }`,
                ].join('\n'),
              );
              const log = path.join(prefix, 'run.log');
              const { pid } = await run([nginx, '-p', prefix, '-c', conf], { logFile: log });
              track(pid);
              const answer = await waitFor('nginx to answer', () => ask(port).catch(() => undefined));
              return { pid, log, port, expect: `3 processes, ${answer.split('\r\n\r\n')[1]}` };
            },
            async check(pid: number, _log: string, port?: number) {
              const answer = await ask(port as number);
              return `${processTree(pid).length} processes, ${answer.split('\r\n\r\n')[1]}`;
            },
          },
        ]
      : []),
    {
      name: 'four threads waiting on a futex',
      async start() {
        const { pid, log } = await startFixture(['futex'], 'futex');
        const answer = await answerTo(pid, log, /^FUTEX \d+ \d+$/);
        return { pid, log, expect: `woken ${answer.split(' ')[2]}` };
      },
      async check(pid, log) {
        const answer = await answerTo(pid, log, /^FUTEX \d+ \d+$/);
        return `woken ${answer.split(' ')[2]}`;
      },
    },
    {
      name: 'an interval timer',
      async start() {
        const { pid, log } = await startFixture(['itimer'], 'itimer');
        return { pid, log, expect: 'ticking' };
      },
      async check(pid, log) {
        const first = Number((await answerTo(pid, log, /^TICKS \d+$/)).split(' ')[1]);
        await sleep(200);
        const second = Number((await answerTo(pid, log, /^TICKS \d+$/)).split(' ')[1]);
        return second - first >= 10 ? 'ticking' : `only ${second - first} ticks in 200 ms`;
      },
    },
    {
      name: 'a TCP connection whose send and receive queues are full',
      dumpFlags: ['--tcp-established'],
      async start() {
        const { pid, log } = await startFixture(['tcpfull'], 'tcpfull');
        return { pid, log, expect: 'TCP OK' };
      },
      async check(pid, log) {
        return (await answerTo(pid, log, /^TCP (OK|BAD) \d+$/)).replace(/ \d+$/, '');
      },
    },
  ];

  for (const workload of workloads) {
    for (const how of paths) {
      it(`${workload.name}: runs after ${how.name}, after the command has exited`, async () => {
        const started = await workload.start(dir());
        const images = path.join(dir(), `images-${started.pid}`);
        const archive = `${images}.tar.zst`;
        const target = how.dump === 'dir' ? ['-D', images] : ['-o', archive];
        const dumped = await runCli(['dump', String(started.pid), ...target, ...(workload.dumpFlags ?? [])]);
        expect(dumped.stderr).toBe('');
        expect(dumped.code).toBe(0);
        await waitUntilGone([started.pid], 10_000);

        const source = how.dump === 'dir' ? ['-D', images] : ['-i', archive];
        const restored = await runCli(['restore', ...source, ...how.restore, ...(workload.dumpFlags ?? []), '--json']);
        expect(restored.code, restored.stdout + restored.stderr).toBe(0);
        const pid = track(JSON.parse(restored.stdout).pid as number);
        // The command is gone; the tree must still run and work.
        await sleep(300);
        expect(readStat(pid)?.state).not.toBe('Z');
        expect(await workload.check(pid, started.log, started.port)).toBe(started.expect);
        killTree(pid);
        await waitUntilGone([pid], 10_000);
      });
    }
  }

  it('restore -i keeps copy-on-write sharing between a parent and its forked workers', async () => {
    const port = await freePort();
    const { pid, log } = await startFixture(['prefork', String(port), '128'], 'prefork-shared');
    const before = treeMemory(pid);
    const archive = path.join(dir(), 'shared.tar.zst');
    expect((await runCli(['dump', String(pid), '-o', archive])).code).toBe(0);
    await waitUntilGone([pid], 10_000);

    const restored = await runCli(['restore', '-i', archive, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    const full = track(JSON.parse(restored.stdout).pid as number);
    await ask(port, 'x');
    const after = treeMemory(full);
    killTree(full);
    await waitUntilGone([full], 10_000);

    const lazy = await runCli(['restore', '-i', archive, '--lazy', '--json']);
    expect(lazy.code, lazy.stderr).toBe(0);
    const lazyPid = track(JSON.parse(lazy.stdout).pid as number);
    const lazyMemory = treeMemory(lazyPid);
    console.log(
      `tree memory (KiB): before Pss ${before.pss} Rss ${before.rss}; after restore -i Pss ${after.pss} Rss ${after.rss}; ` +
        `after restore --lazy -i Pss ${lazyMemory.pss} Rss ${lazyMemory.rss} [${logText(log).split('\n')[0]}]`,
    );
    // 128 MiB shared by three processes: about 128 MiB of Pss, not 384.
    expect(before.pss).toBeLessThan(200 * 1024);
    expect(after.pss).toBeLessThan(before.pss * 1.25);
    expect(after.rss).toBeGreaterThan(before.rss * 0.8);
  });

  it('a tree that dies right after its restore is reported as a failure, with how it ended', async () => {
    const { pid } = await startFixture(['itimer'], 'dies');
    const imagesDir = path.join(dir(), 'dies');
    await checkpoint(pid, { imagesDir });
    let root: number | undefined;
    const failed = await restore({
      imagesDir,
      onNotification: ({ name, pid: notified }) => {
        if (notified) root = notified;
        if (name === 'post-resume' && root) process.kill(root, 'SIGKILL');
      },
    }).catch((error: unknown) => error as { code: string; message: string; details: Record<string, unknown> });
    expect(failed).toMatchObject({ code: 'ERR_RESTORED_TREE_EXITED', details: { signal: 9 } });
    expect((failed as { message: string }).message).toMatch(/killed by signal 9 \(SIGKILL\)/);
  });

  it('a lazily restored tree that dies before its memory is complete fails the fill', async () => {
    const binary = await compileFixture('lazy-memory');
    const log = path.join(dir(), 'lazy-dies.log');
    const { pid } = await run([binary, '256'], { logFile: log });
    track(pid);
    await waitFor('the workload', () => (logText(log).includes('READY') ? true : undefined));
    const imagesDir = path.join(dir(), 'lazy-dies');
    await checkpoint(pid, { imagesDir });
    const restored = await restore({ imagesDir, lazy: true });
    process.kill(restored.pid, 'SIGKILL');
    await expect(restored.lazy?.fill).rejects.toMatchObject({ code: 'ERR_RESTORED_TREE_EXITED', details: { signal: 9 } });
  });
});
