// Pre-copy rounds, whichever way they track writes: the native dirty tracker (precopy.ts) or
// CRIU's pre-dumps (criu-rounds.ts). What a round reports, made in one place.
import { PAGE_SIZE } from '../images/memory-images.js';
import type { MessageChannel } from './message-channel.js';

/** One pre-copy round, as reported. */
export interface RoundReport {
  round: number;
  /** Pages sent: everything the tree held (round 0), then what it wrote during the round before. */
  pages: number;
  /** Bytes those pages took on the wire (compressed). */
  wireBytes: number;
  durationMs: number;
  /** How fast the tree wrote pages during the round before (0 for round 0), MB/s. */
  dirtyRateMBps: number;
}

/** What the final freeze sent (pre-copy) or left to be pulled (hybrid). */
export interface FinalReport {
  pages: number;
  wireBytes: number;
}

/** Rounds of either kind; `tracking` tells them apart. */
export interface RoundsTracker {
  readonly tracking: 'uffd' | 'soft-dirty';
  readonly rounds: RoundReport[];
  /** Sends what changed since the last round and waits until the destination has it. */
  round(channel: MessageChannel): Promise<RoundReport>;
  close(): void;
}

/**
 * The report of round `index` that sent `pages` in `wireBytes`, begun at `started`
 * (performance.now()), `sinceLast` ms after the round before began.
 */
export function roundReport(index: number, pages: number, wireBytes: number, started: number, sinceLast: number): RoundReport {
  return {
    round: index,
    pages,
    wireBytes,
    durationMs: performance.now() - started,
    dirtyRateMBps: index === 0 ? 0 : (pages * PAGE_SIZE) / 1e6 / Math.max(sinceLast / 1000, 1e-3),
  };
}
