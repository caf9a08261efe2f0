// A progress bar (bytes, rate, ETA) on a terminal; nothing when output is not a TTY or is JSON.
import { createRequire } from 'node:module';
import type { Output } from './output.js';

export interface ProgressBar {
  update(bytes: number, total: number): void;
  stop(): void;
}

const MB = 1024 * 1024;

export function progressBar(out: Output, label: string): ProgressBar {
  if (out.json || !process.stderr.isTTY) return { update() {}, stop() {} };
  // Loaded only when a bar is drawn (a terminal): start-up stays small.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {done}/{all} MiB | {rate} MiB/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  return {
    update(bytes, total) {
      const all = Math.max(total, bytes, 1);
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const payload = { done: (bytes / MB).toFixed(0), all: (all / MB).toFixed(0), rate: (bytes / MB / seconds).toFixed(0) };
      if (!running) {
        bar.start(all, bytes, payload);
        running = true;
      } else {
        bar.setTotal(all);
        bar.update(bytes, payload);
      }
    },
    stop() {
      if (running) bar.stop();
    },
  };
}

export const mib = (bytes: number) => `${(bytes / MB).toFixed(1)} MiB`;
