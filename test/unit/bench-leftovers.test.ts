// A bench run ends what it left running, but only what it started: two runs on one machine share
// the compiled workloads and temporary-directory markers, and must not end each other's work.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { endLeftovers, tagThisRun } from '../../src/bench/harness.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('bench leftovers', () => {
  it("ends this run's leftovers and leaves another run's alone", async () => {
    const marker = path.join(os.tmpdir(), `freezedry-bench-leftover-${process.pid}`); // argv that points into a bench directory
    const others = spawn('sh', ['-c', 'sleep 30', marker], { env: { PATH: process.env.PATH, FREEZEDRY_BENCH_RUN: '1' }, stdio: 'ignore' });
    tagThisRun();
    const ours = spawn('sh', ['-c', 'sleep 30', marker], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const oursExited = new Promise((resolve) => ours.once('exit', resolve));
    try {
      expect(endLeftovers()).toBe(1);
      await oursExited;
      expect(alive(others.pid as number)).toBe(true);
    } finally {
      others.kill('SIGKILL');
      ours.kill('SIGKILL');
    }
  });
});
