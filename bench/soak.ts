// Soak (issue 12): in this one Node process, many checkpoint/restore cycles, lazy restores and
// migrations back and forth (a receiver in this process too), of a small workload in its own
// pid namespace. Open fds, threads and RSS of this process after the first few cycles and at
// the end, and any CRIU, watchdog or freezedry-init process left behind, are reported; the run
// fails if the process grew or something outlived its operation.
//   npm run soak [-- --cycles 200 --lazy 50 --migrations 30]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkpoint, migrate, receive, restore, run } from '../lib/index.js';
import { compileWorkload, gone } from '../lib/bench/harness.js';

const { values } = parseArgs({
  options: { cycles: { type: 'string', default: '200' }, lazy: { type: 'string', default: '50' }, migrations: { type: 'string', default: '30' } },
});
const cycles = Number(values.cycles);
const lazyRestores = Number(values.lazy);
const migrations = Number(values.migrations);

interface Figures {
  fds: number;
  threads: number;
  rssMiB: number;
  /** V8's heap in use, and memory held outside it (Buffers): where RSS growth comes from. */
  heapMiB: number;
  externalMiB: number;
}

function figures(): Figures {
  (globalThis as { gc?: () => void }).gc?.();
  const threads = Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  const memory = process.memoryUsage();
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  return { fds: readdirSync('/proc/self/fd').length, threads, rssMiB: mib(memory.rss), heapMiB: mib(memory.heapUsed), externalMiB: mib(memory.external + memory.arrayBuffers) };
}

/** Processes that should only live during an operation: CRIU, lazy-fill watchdogs, freezedry-init. */
function helpers(): string[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .filter((line) => /criu (swrk|lazy-pages|page-server)|freezedry-init|pkill -KILL -s/.test(line) && !line.includes('ps -eo'))
    .map((line) => line.trim());
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'freezedry-soak-'));
const memhog = await compileWorkload('memhog');
const token = 'soak-token';
let pid = (await run([memhog, '16'], { logFile: path.join(scratch, 'workload.log') })).pid;
const samples: { phase: string; at: number; figures: Figures }[] = [];
const sample = (phase: string, at: number) => samples.push({ phase, at, figures: figures() });
const started = performance.now();

try {
  for (let i = 1; i <= cycles; i++) {
    const dir = path.join(scratch, `cycle-${i}`);
    await checkpoint(pid, { imagesDir: dir });
    await gone(pid);
    pid = (await restore({ imagesDir: dir })).pid;
    rmSync(dir, { recursive: true, force: true });
    if (i === 10) sample('checkpoint/restore', i);
  }
  sample('checkpoint/restore', cycles);

  for (let i = 1; i <= lazyRestores; i++) {
    const dir = path.join(scratch, `lazy-${i}`);
    await checkpoint(pid, { imagesDir: dir });
    await gone(pid);
    const restored = await restore({ imagesDir: dir, lazy: true });
    await restored.lazy?.fill;
    pid = restored.pid;
    rmSync(dir, { recursive: true, force: true });
    if (i === 5) sample('lazy restore', i);
  }
  sample('lazy restore', lazyRestores);

  const receiver = await receive({ host: '127.0.0.1', port: 0, token, workDir: scratch });
  const port = receiver.address.port;
  const modes = ['stop-copy', 'post-copy', 'pre-copy'] as const;
  for (let i = 1; i <= migrations; i++) {
    const result = await migrate(pid, { to: { host: '127.0.0.1', port }, token, mode: modes[i % modes.length] });
    pid = result.destinationPid;
    // The destination's side (a post-copy fill, its closing) may still run: sample after it.
    while (receiver.migrations.length < i) await new Promise((resolve) => setTimeout(resolve, 10));
    if (i === 3 || i % 10 === 0) sample('migration', i);
  }
  sample('migration', migrations);
  await receiver.close();
} finally {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(scratch, { recursive: true, force: true });
}

await new Promise((resolve) => setTimeout(resolve, 500)); // let the last helpers exit
const left = helpers();
console.log(`soak: ${cycles} checkpoint/restore cycles, ${lazyRestores} lazy restores, ${migrations} migrations in ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log('| phase | after | open fds | threads | RSS (MiB) | JS heap (MiB) | outside the heap (MiB) |');
console.log('|---|---|---|---|---|---|---|');
for (const s of samples) {
  const f = s.figures;
  console.log(`| ${s.phase} | ${s.at} | ${f.fds} | ${f.threads} | ${f.rssMiB} | ${f.heapMiB} | ${f.externalMiB} |`);
}
console.log(left.length === 0 ? 'no CRIU, watchdog or freezedry-init process left' : `left running:\n${left.join('\n')}`);

// Per phase, the end against its early sample: fds and threads must not grow; RSS within 25%.
let grew = false;
for (const phase of ['checkpoint/restore', 'lazy restore', 'migration']) {
  const phaseSamples = samples.filter((s) => s.phase === phase);
  const [early, late] = [phaseSamples[0], phaseSamples.at(-1)];
  if (!early || !late) continue;
  if (late.figures.fds > early.figures.fds || late.figures.threads > early.figures.threads || late.figures.rssMiB > early.figures.rssMiB * 1.25) {
    console.log(`${phase}: grew from ${JSON.stringify(early.figures)} to ${JSON.stringify(late.figures)}`);
    grew = true;
  }
}
process.exitCode = grew || left.length > 0 ? 1 : 0;
