// How a migration decides: estimates of the downtime each mode would cause, and when pre-copy
// rounds stop. Pure functions of measured figures (tested in test/unit/planning.test.ts).
import type { RoundReport } from './precopy.js';

// Rough rates on the machines measured (bench/): CRIU dumps and restores about a GB/s, and
// archives hold about 45 % of a process's memory. A lazy freeze (CRIU's lazy dump, which
// still walks all memory, then a restore without the memory) costs far less per byte.
const DUMP_BYTES_PER_MS = 1e6;
const RESTORE_BYTES_PER_MS = 1e6;
const ARCHIVE_FRACTION = 0.45;
const LAZY_FREEZE_BYTES_PER_MS = 6e6;
const LAZY_FREEZE_BASE_MS = 60;

export const ROUND_LIMITS = {
  /** At most this many rounds (P.Haul: 9). */
  maxRounds: 8,
  /** Rounds stop when the dirty set shrinks by less than this fraction from one to the next. */
  minShrink: 0.1,
  /** ... or after this long in all. */
  maxTotalMs: 60_000,
};

/** Downtime of a stop-copy: dump, send the compressed archive, restore. */
export function estimateStopCopyMs(residentBytes: number, bandwidthMBps: number): number {
  return residentBytes / DUMP_BYTES_PER_MS + (residentBytes * ARCHIVE_FRACTION) / (bandwidthMBps * 1e3) + residentBytes / RESTORE_BYTES_PER_MS;
}

/** Downtime of a freeze that moves no memory (post-copy, hybrid, and pre-copy before its last pages). */
export function estimateLazyFreezeMs(residentBytes: number): number {
  return LAZY_FREEZE_BASE_MS + residentBytes / LAZY_FREEZE_BYTES_PER_MS;
}

export type RoundStep = 'continue' | 'pre-copy' | 'hybrid';

export interface RoundDecision {
  step: RoundStep;
  /** Downtime a pre-copy freeze now would cause: the lazy freeze plus the last dirty set. */
  expectedDowntimeMs: number;
  reason: string;
}

/**
 * After each round: freeze now with the last pages (pre-copy) when that fits the budget; give
 * the rest to post-copy (hybrid) when rounds stop converging or a cap is reached; else go on.
 */
export function nextStep(
  rounds: RoundReport[],
  context: { budgetMs: number; residentBytes: number; elapsedMs: number; limits?: typeof ROUND_LIMITS },
): RoundDecision {
  const limits = context.limits ?? ROUND_LIMITS;
  const first = rounds[0];
  const last = rounds.at(-1);
  if (!first || !last || rounds.length < 2) return { step: 'continue', expectedDowntimeMs: Infinity, reason: 'no write rate measured yet' };
  // Pages per ms the whole path moved in round 0 (read, compress, send, store).
  const pagesPerMs = first.pages / Math.max(first.durationMs, 1);
  const sendMs = last.pages / Math.max(pagesPerMs, 1e-6);
  const expectedDowntimeMs = estimateLazyFreezeMs(context.residentBytes) + sendMs;
  if (expectedDowntimeMs <= context.budgetMs) {
    return { step: 'pre-copy', expectedDowntimeMs, reason: `${last.pages} dirty pages fit the budget` };
  }
  const before = rounds.at(-2) as RoundReport;
  if (rounds.length > 2 && last.pages > before.pages * (1 - limits.minShrink)) {
    return { step: 'hybrid', expectedDowntimeMs, reason: `the dirty set stopped shrinking (${before.pages} → ${last.pages} pages)` };
  }
  if (rounds.length >= limits.maxRounds) return { step: 'hybrid', expectedDowntimeMs, reason: `${rounds.length} rounds` };
  if (context.elapsedMs >= limits.maxTotalMs) return { step: 'hybrid', expectedDowntimeMs, reason: `${Math.round(context.elapsedMs)} ms of rounds` };
  return { step: 'continue', expectedDowntimeMs, reason: 'converging' };
}
