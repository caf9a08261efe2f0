// Scenario "migrate": a 1 GiB process that keeps writing part of its memory, moved between two
// namespace hosts over a link shaped to 1 Gbit/s, in each available mode: how long it was
// frozen, the bytes on the wire, and the total time.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHosts } from '../../lib/testing/network-hosts.js';
import { compileWorkload, gone, median, repoRoot, type Comparison, type Measurement } from '../harness.js';

const cli = path.join(repoRoot, 'bin', 'freezedry.js');

export async function migrateScenario(options: { quick?: boolean } = {}): Promise<{ comparisons: Comparison[]; measurements: Measurement[]; notes: string[] }> {
  const memhog = await compileWorkload('memhog');
  const mib = options.quick ? 256 : 1024;
  const repeats = options.quick ? 1 : 3;
  const hosts = createHosts({ rate: '1gbit' });
  const notes: string[] = [];
  const measurements: Measurement[] = [];
  try {
    for (const mode of ['stop-copy', 'post-copy', 'auto']) {
      const frozen: Measurement = { scenario: 'migrate', case: `${mode} ${mib} MiB over 1 Gbit/s: frozen`, tool: 'freezedry', samples: [], unit: 'ms' };
      const total: Measurement = { scenario: 'migrate', case: `${mode} ${mib} MiB over 1 Gbit/s: total`, tool: 'freezedry', samples: [], unit: 'ms' };
      const bytes: number[] = [];
      const gaps: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const log = path.join(os.tmpdir(), `freezedry-bench-migrate-${process.pid}-${mode}-${r}.log`); // one per run: gaps between runs must not count
        const pid = Number(hosts.a.run([process.execPath, cli, 'run', '--log', log, '--', memhog, String(mib), '--dirty', '64', '--heartbeat']).trim());
        for (let i = 0; i < 600 && !(await readFile(log, 'utf8').catch(() => '')).includes('READY'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
        const port = 7200 + r + (mode === 'post-copy' ? 50 : mode === 'auto' ? 100 : 0);
        const receiver = hosts.b.spawn([process.execPath, cli, 'receive', '--listen', `${hosts.b.address}:${port}`, '--token', 'bench', '--once']);
        const received = new Promise((resolve) => receiver.once('exit', resolve));
        await new Promise((resolve) => setTimeout(resolve, 500));
        const migrating = hosts.a.spawn([process.execPath, cli, 'migrate', String(pid), '--to', `${hosts.b.address}:${port}`, '--token', 'bench', '--mode', mode, '--json']);
        let out = '';
        migrating.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        await new Promise((resolve) => migrating.once('exit', resolve));
        await received;
        const result = JSON.parse(out) as { frozenMs: number; totalMs: number; bytesSent: number; destinationPid: number; mode: string };
        if (mode === 'auto') notes.push(`auto chose ${result.mode}`);
        // The longest silence between heartbeats: the downtime the process itself lived through.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const beats = (await readFile(log, 'utf8')).match(/^HB (\d+)$/gm)?.map((line) => Number(line.slice(3))) ?? [];
        gaps.push(beats.slice(1).reduce((longest, t, i) => Math.max(longest, t - (beats[i] as number)), 0));
        frozen.samples.push(result.frozenMs);
        total.samples.push(result.totalMs);
        bytes.push(result.bytesSent);
        process.kill(result.destinationPid, 'SIGKILL');
        await gone(result.destinationPid);
      }
      measurements.push(frozen, total);
      notes.push(`${mode}: longest heartbeat gap ${median(gaps).toFixed(0)} ms (samples ${gaps.join(', ')}), frozen ${median(frozen.samples).toFixed(0)} ms (samples ${frozen.samples.map((s) => s.toFixed(0)).join(', ')}), total ${median(total.samples).toFixed(0)} ms, ${(median(bytes) / 1048576).toFixed(1)} MiB sent by the source agent over its control connection (post-copy memory goes over CRIU's page-server connection)`);
    }
  } finally {
    hosts.destroy();
  }
  const [stopFrozen, , postFrozen, , autoFrozen] = measurements as Measurement[] as [Measurement, Measurement, Measurement, Measurement, Measurement];
  const against = (ours: Measurement, name: string, target?: string): Comparison => ({
    scenario: 'migrate',
    case: `frozen time, ${name} vs stop-copy, ${mib} MiB over 1 Gbit/s`,
    ours: name,
    peer: 'stop-copy',
    oursMedian: median(ours.samples),
    peerMedian: median(stopFrozen.samples),
    unit: 'ms',
    ratio: median(ours.samples) / median(stopFrozen.samples),
    difference: median(ours.samples) - median(stopFrozen.samples),
    target,
    met: target ? median(ours.samples) / median(stopFrozen.samples) <= 0.05 && median(ours.samples) <= 300 : undefined,
  });
  const comparisons: Comparison[] = [against(postFrozen, 'post-copy'), against(autoFrozen, 'auto', '≤ 0.05× and ≤ 300 ms')];
  return { comparisons, measurements, notes };
}
