// freezedry.json: what an archive holds and where it came from. Documented in docs/archive-format.md.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { DumpStats } from '../images/stats.js';
import type { CheckpointSummary } from '../images/image-summary.js';
import type { ContainerFacts } from '../container/layout.js';
import type { SnapshotFacts } from '../snapshot/facts.js';

export const MANIFEST_NAME = 'freezedry.json';
export const ARCHIVE_FORMAT = 'freezedry-archive';
export const ARCHIVE_VERSION = 1;

export interface ManifestEntry {
  name: string;
  size: number;
  /** XXH3-64 of the entry's bytes, 16 hex digits. */
  checksum: string;
}

export interface SourceHost {
  hostname: string;
  kernel: string;
  arch: string;
  criuVersion: string;
  cpuFlags: string[];
}

export interface Manifest {
  format: typeof ARCHIVE_FORMAT;
  version: number;
  createdAt: string;
  /** The root pid on the host at dump time, and its command line. */
  pid?: number;
  command?: string;
  source: SourceHost;
  summary: CheckpointSummary;
  criuStats?: DumpStats;
  /** For a process's snapshot of itself (see snapshot/facts.ts). */
  snapshot?: SnapshotFacts;
  /** For a container checkpoint (its CRIU images are under checkpoint/). */
  container?: ContainerFacts;
  /** Every entry but the manifest itself. */
  entries: ManifestEntry[];
}

export function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.*)$/m)?.[1] ?? '';
    return line.split(/\s+/).filter(Boolean).sort();
  } catch {
    return [];
  }
}

export function sourceHost(criuVersion: string): SourceHost {
  return { hostname: os.hostname(), kernel: os.release(), arch: process.arch, criuVersion, cpuFlags: cpuFlags() };
}
