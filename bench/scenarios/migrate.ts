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
    for (const mode of ['stop-copy', 'post-copy']) {
      const frozen: Measurement = { scenario: 'migrate', case: `${mode} ${mib} MiB over 1 Gbit/s: frozen`, tool: 'freezedry', samples: [], unit: 'ms' };
      const total: Measurement = { scenario: 'migrate', case: `${mode} ${mib} MiB over 1 Gbit/s: total`, tool: 'freezedry', samples: [], unit: 'ms' };
      const bytes: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const log = path.join(os.tmpdir(), `freezedry-bench-migrate-${process.pid}.log`);
        const pid = Number(hosts.a.run([process.execPath, cli, 'run', '--log', log, '--', memhog, String(mib), '--dirty', '64']).trim());
        for (let i = 0; i < 600 && !(await readFile(log, 'utf8').catch(() => '')).includes('READY'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
        const port = 7200 + r + (mode === 'post-copy' ? 50 : 0);
        const receiver = hosts.b.spawn([process.execPath, cli, 'receive', '--listen', `${hosts.b.address}:${port}`, '--token', 'bench', '--once']);
        const received = new Promise((resolve) => receiver.once('exit', resolve));
        await new Promise((resolve) => setTimeout(resolve, 500));
        const migrating = hosts.a.spawn([process.execPath, cli, 'migrate', String(pid), '--to', `${hosts.b.address}:${port}`, '--token', 'bench', '--mode', mode, '--json']);
        let out = '';
        migrating.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        await new Promise((resolve) => migrating.once('exit', resolve));
        await received;
        const result = JSON.parse(out) as { frozenMs: number; totalMs: number; bytesSent: number; destinationPid: number };
        frozen.samples.push(result.frozenMs);
        total.samples.push(result.totalMs);
        bytes.push(result.bytesSent);
        process.kill(result.destinationPid, 'SIGKILL');
        await gone(result.destinationPid);
      }
      measurements.push(frozen, total);
      notes.push(`${mode}: frozen ${median(frozen.samples).toFixed(0)} ms (samples ${frozen.samples.map((s) => s.toFixed(0)).join(', ')}), total ${median(total.samples).toFixed(0)} ms, ${(median(bytes) / 1048576).toFixed(1)} MiB sent by the source agent over its control connection (post-copy memory goes over CRIU's page-server connection)`);
    }
  } finally {
    hosts.destroy();
  }
  const [stopFrozen, , postFrozen] = measurements as [Measurement, Measurement, Measurement, Measurement];
  const comparisons: Comparison[] = [
    {
      scenario: 'migrate',
      case: `frozen time, post-copy vs stop-copy, ${mib} MiB over 1 Gbit/s`,
      ours: 'post-copy',
      peer: 'stop-copy',
      oursMedian: median(postFrozen.samples),
      peerMedian: median(stopFrozen.samples),
      unit: 'ms',
      ratio: median(postFrozen.samples) / median(stopFrozen.samples),
      difference: median(postFrozen.samples) - median(stopFrozen.samples),
      target: 'auto ≤ 0.05× and ≤ 300 ms (auto not built yet)',
      met: median(postFrozen.samples) / median(stopFrozen.samples) <= 0.05 && median(postFrozen.samples) <= 300,
    },
  ];
  return { comparisons, measurements, notes };
}
