// What a benchmark ran on, kept with its samples: numbers mean little without the machine.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import type { CheckReport } from '../check.js';

const exec = promisify(execFile);

export interface MachineDescription {
  hostname: string;
  kernel: { release: string; version: string };
  cpu: { model: string; cores: number; flags: string[] };
  memoryBytes: number;
  /** The file system the images are written to (the temp dir), and the disk under it. */
  disk: { path: string; fileSystem: string; sizeBytes: number; availableBytes: number; device: string; model?: string; rotational?: boolean };
  node: string;
  criu?: { path: string; version: string };
  /** The kernel and CRIU features freezedry found and uses. */
  features: Record<string, boolean | string>;
  distribution?: string;
}

function cpuInfo(): { model: string; flags: string[] } {
  const text = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  return { model: field('model name') ?? field('Model') ?? os.cpus()[0]?.model ?? 'unknown', flags: (field('flags') ?? field('Features') ?? '').split(/\s+/).filter(Boolean) };
}

async function diskOf(dir: string): Promise<MachineDescription['disk']> {
  const { stdout } = await exec('df', ['--output=source,fstype,size,avail', '-B1', dir]);
  const [device = '?', fileSystem = '?', size = '0', available = '0'] = (stdout.trim().split('\n')[1] ?? '').trim().split(/\s+/);
  const disk: MachineDescription['disk'] = { path: dir, fileSystem, sizeBytes: Number(size), availableBytes: Number(available), device };
  // The whole disk's model and kind, when the device is a block device lsblk knows.
  try {
    const { stdout: json } = await exec('lsblk', ['-J', '-d', '-o', 'NAME,MODEL,ROTA', '-s', device]);
    const parent = (JSON.parse(json) as { blockdevices?: { model?: string | null; rota?: boolean | string }[] }).blockdevices?.at(-1);
    if (parent) {
      disk.model = parent.model?.trim() || undefined;
      disk.rotational = parent.rota === true || parent.rota === '1';
    }
  } catch {
    // not a block device (tmpfs, overlay): the file system says enough
  }
  return disk;
}

function distribution(): string | undefined {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

export async function describeMachine(report: CheckReport): Promise<MachineDescription> {
  const features: Record<string, boolean | string> = {};
  for (const [name, value] of Object.entries(report.features ?? {})) if (typeof value === 'boolean' || typeof value === 'string') features[name] = value;
  for (const item of report.items) features[`check:${item.id}`] = item.status;
  return {
    hostname: os.hostname(),
    kernel: { release: os.release(), version: os.version() },
    cpu: { ...cpuInfo(), cores: os.availableParallelism() },
    memoryBytes: os.totalmem(),
    disk: await diskOf(os.tmpdir()),
    node: process.version,
    criu: report.criu,
    features,
    distribution: distribution(),
  };
}

/** One line for a log or a report's header. */
export function machineSummary(m: MachineDescription): string {
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(0)} GiB`;
  return [
    `${m.cpu.model}, ${m.cpu.cores} cores, ${gib(m.memoryBytes)}`,
    `Linux ${m.kernel.release}${m.distribution ? ` (${m.distribution})` : ''}`,
    `images on ${m.disk.fileSystem} ${m.disk.device}${m.disk.model ? ` (${m.disk.model}${m.disk.rotational ? ', rotational' : ''})` : ''}`,
    `CRIU ${m.criu?.version ?? '?'}, Node ${m.node}`,
  ].join('; ');
}
