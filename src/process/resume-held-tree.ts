// Run by a watchdog (watchdog.ts) once the process that held a tree stopped after a CRIU dump
// has died: it waits for CRIU to let go of the tree (it fails soon after its caller, at its next
// word to it), undoes what the dump left (sockets in repair mode, the network lock:
// criu-locks.ts), then sends SIGCONT. A SIGCONT alone would leave the tree's connections locked,
// or closed without a word once it reads a socket still in repair mode. A lazy dump's page
// server whose client never came (its only way in, the relay, died with its caller) would hold
// the tree for ever: CRIU is killed then, the tree stopped first (as checkpoint.ts does).
//   node resume-held-tree.js --run-id ID|--images DIR|--no-signal '' ROOT_PID PID...
// The lock's name: the dump's run id ('' when none), or read from the inventory in DIR.
// --no-signal: a container (its own namespace: no name needed), thawed by runc after this.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readDumpRunId } from '../images/inventory.js';
import { releaseCriuLocks } from './criu-locks.js';
import { readStat, signalEach } from './proc.js';

const WAIT_FOR_CRIU_MS = 10_000;

/** The pid of the tracer (CRIU) that holds `pid`, if one does. */
function tracerOf(pid: number): number | undefined {
  try {
    const tracer = Number(/^TracerPid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return tracer > 0 ? tracer : undefined;
  } catch {
    return undefined;
  }
}

async function untraced(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => tracerOf(pid) !== undefined)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

const [how, lock, ...pidArgs] = process.argv.slice(2);
const pids = pidArgs.map(Number);
const stuck = !(await untraced(pids, WAIT_FOR_CRIU_MS));
if (stuck) {
  const criu = new Set(pids.map(tracerOf).filter((tracer) => tracer !== undefined && readStat(tracer)?.comm === 'criu'));
  signalEach(pids, 'SIGSTOP');
  signalEach([...criu] as number[], 'SIGKILL');
  await untraced(pids, 5000);
}
const runId = how === '--images' ? await readDumpRunId(lock as string) : lock || undefined;
await releaseCriuLocks(pids[0] as number, pids, runId);
if (how !== '--no-signal' || stuck) signalEach(pids, 'SIGCONT'); // a container's SIGCONT waits for its thaw
