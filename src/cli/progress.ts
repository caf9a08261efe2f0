// A progress bar (bytes, rate, ETA) on a terminal; nothing when output is not a TTY or is JSON.
import { createRequire } from 'node:module';
import type { Output } from './output.js';

export interface ProgressBar {
  update(bytes: number, total: number): void;
  stop(): void;
}

const MB = 1024 * 1024;

/**
 * A cli-progress bar on stderr with `format`, loaded only when one is drawn (start-up stays
 * small); the first update starts it, later ones move it (the total may change).
 */
export function terminalBar(format: string): { update(value: number, total: number, payload: object): void; stop(): void } {
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  let running = false;
  return {
    update(value, total, payload) {
      if (!running) {
        bar.start(total, value, payload);
        running = true;
      } else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

export function progressBar(out: Output, label: string): ProgressBar {
  if (out.json || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = terminalBar(`${label} [{bar}] {percentage}% | {done}/{all} MiB | {rate} MiB/s | ETA {eta_formatted}`);
  const started = Date.now();
  return {
    update(bytes, total) {
      const all = Math.max(total, bytes, 1);
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar.update(bytes, all, { done: (bytes / MB).toFixed(0), all: (all / MB).toFixed(0), rate: (bytes / MB / seconds).toFixed(0) });
    },
    stop: () => bar.stop(),
  };
}

export const mib = (bytes: number) => `${(bytes / MB).toFixed(1)} MiB`;

/** An archive's size against what went in, and what adaptive compression stored as it was. */
export function archiveSize(archive: { bytes: number; uncompressedBytes: number; storedBytes: number }): string {
  const stored = archive.storedBytes > 0 ? `; ${mib(archive.storedBytes)} stored uncompressed to keep pace` : '';
  return `${mib(archive.bytes)}, ${((100 * archive.bytes) / Math.max(1, archive.uncompressedBytes)).toFixed(0)}% of ${mib(archive.uncompressedBytes)}${stored}`;
}

export const COMPRESSION_HELP = "'full' compresses every frame; 'adaptive' stores those the compressors cannot keep up with, so the archive takes no longer than the raw bytes";
export const BUFFER_HELP = 'memory that may wait for compression (e.g. 4G; default a sixteenth of free memory, at most 1G): more shortens the freeze of a large dump';

/**
 * A size such as 512M, 4G or 1048576 in bytes (K, M, G: powers of 1024); NaN if it is none, for
 * the API to refuse; undefined if none was given.
 */
export function bytesOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)([KMG]?)$/i.exec(text.trim());
  if (!match) return Number.NaN;
  const unit = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[(match[2] as string).toUpperCase()] as number;
  return Number(match[1]) * unit;
}
