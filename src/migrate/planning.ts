// How a migration decides: estimates of the downtime each mode would cause, and when pre-copy
// rounds stop. Pure functions of measured figures (tested in test/unit/planning.test.ts).
import type { RoundReport } from './rounds.js';

// Rough rates on the machines measured (bench/): CRIU dumps and restores about a GB/s, and
// archives hold about 45 % of a process's memory. A lazy freeze (CRIU's lazy dump, which
// still walks all memory, then a restore without the memory) costs far less per byte: fitted to
// the frozen times of pre-copy in `bench migrate` over 1 Gbit/s on the 2-core VM (2026-12-04,
// the tree's network namespace made ahead at the destination: 181-198 ms at 1 GiB, 256-288 ms
// at 4 GiB; the last pages of a pre-copy leave while CRIU dumps).
const DUMP_BYTES_PER_MS = 1e6;
const RESTORE_BYTES_PER_MS = 1e6;
const ARCHIVE_FRACTION = 0.45;
const LAZY_FREEZE_BYTES_PER_MS = 3.6e7;
const LAZY_FREEZE_BASE_MS = 160;
// With a CRIU that leaves the pages in the stopped tree (scripts/criu/), its dump no longer pins
// them, and the freeze hardly grows with memory (same benchmark, pre-copy, 2026-12-05: frozen 115
// ms at 256 MiB, 122 ms at 2 GiB).
const IN_PLACE_FREEZE_BYTES_PER_MS = 2.5e8;
const IN_PLACE_FREEZE_BASE_MS = 120;

export const ROUND_LIMITS = {
  /** At most this many rounds (P.Haul: 9). */
  maxRounds: 8,
  /** Rounds stop when the dirty set shrinks by less than this fraction from one to the next. */
  minShrink: 0.1,
  /**
   * ... or after this long of rounds after the first. The first copies everything and takes as
   * long as memory and link make it (4 GiB over 1 Gbit/s on two cores: 44-48 s); counting it
   * stopped a pre-copy after one round of dirty pages, and its freeze then sent a million pages
   * (3.2-4.3 s frozen, bench migrate 2026-12-05).
   */
  maxTotalMs: 60_000,
};

/** Downtime of a stop-copy: dump, send the compressed archive, restore. */
export function estimateStopCopyMs(residentBytes: number, bandwidthMBps: number): number {
  return residentBytes / DUMP_BYTES_PER_MS + (residentBytes * ARCHIVE_FRACTION) / (bandwidthMBps * 1e3) + residentBytes / RESTORE_BYTES_PER_MS;
}

/**
 * Downtime of a freeze that moves no memory (post-copy, hybrid, and pre-copy before its last
 * pages); `inPlace`: with a CRIU that leaves the pages in the tree.
 */
export function estimateLazyFreezeMs(residentBytes: number, inPlace = false): number {
  return inPlace ? IN_PLACE_FREEZE_BASE_MS + residentBytes / IN_PLACE_FREEZE_BYTES_PER_MS : LAZY_FREEZE_BASE_MS + residentBytes / LAZY_FREEZE_BYTES_PER_MS;
}

export type RoundStep = 'continue' | 'pre-copy' | 'hybrid';

export interface RoundDecision {
  step: RoundStep;
  /** Downtime a pre-copy freeze now would cause: the lazy freeze plus the last dirty set. */
  expectedDowntimeMs: number;
  reason: string;
}

/**
 * After each round: freeze now with the last pages (pre-copy) when that fits the budget; else go
 * on, until rounds stop converging or a cap is reached. Then the freeze still takes the last
 * pages when they leave within CRIU's dump (they are sent while it runs: PreCopy.frozen), which
 * is about half of a lazy freeze; only a larger rest goes to post-copy (hybrid), whose faults
 * over the link cost a client more: 4 GiB rewriting 64 MiB/s over 1 Gbit/s, a client's gap was
 * 243-264 ms ending in pre-copy and 338-357 ms in hybrid (bench migrate, 2026-12-04).
 */
export function nextStep(
  rounds: RoundReport[],
  context: { budgetMs: number; residentBytes: number; elapsedMs: number; limits?: typeof ROUND_LIMITS; criuLeavesPagesInPlace?: boolean },
): RoundDecision {
  const limits = context.limits ?? ROUND_LIMITS;
  const first = rounds[0];
  const last = rounds.at(-1);
  if (!first || !last || rounds.length < 2) return { step: 'continue', expectedDowntimeMs: Infinity, reason: 'no write rate measured yet' };
  // Pages per ms the whole path moved in round 0 (read, compress, send, store).
  const pagesPerMs = first.pages / Math.max(first.durationMs, 1);
  const sendMs = last.pages / Math.max(pagesPerMs, 1e-6);
  const freezeMs = estimateLazyFreezeMs(context.residentBytes, context.criuLeavesPagesInPlace);
  const expectedDowntimeMs = freezeMs + sendMs;
  if (expectedDowntimeMs <= context.budgetMs) {
    return { step: 'pre-copy', expectedDowntimeMs, reason: `${last.pages} dirty pages fit the budget` };
  }
  const before = rounds.at(-2) as RoundReport;
  const end = (why: string): RoundDecision =>
    sendMs <= freezeMs / 2
      ? { step: 'pre-copy', expectedDowntimeMs, reason: `${why}; its ${last.pages} dirty pages leave while CRIU dumps` }
      : { step: 'hybrid', expectedDowntimeMs, reason: why };
  if (rounds.length > 2 && last.pages > before.pages * (1 - limits.minShrink)) {
    return end(`the dirty set stopped shrinking (${before.pages} → ${last.pages} pages)`);
  }
  if (rounds.length >= limits.maxRounds) return end(`${rounds.length} rounds`);
  const afterFirstMs = context.elapsedMs - first.durationMs;
  if (afterFirstMs >= limits.maxTotalMs) return end(`${Math.round(afterFirstMs)} ms of rounds after the first copy`);
  return { step: 'continue', expectedDowntimeMs, reason: 'converging' };
}

export interface ModeInputs {
  estimatedStopCopyMs: number;
  estimatedLazyFreezeMs: number;
  budgetMs: number;
  /** Writes can be tracked here (the uffd tracker, or soft-dirty pre-dumps). */
  tracking: 'uffd' | 'soft-dirty' | 'none';
  /** The destination can restore lazily. */
  lazyThere: boolean;
}

/**
 * auto's first choice, once the link is measured: stop-copy when it fits the budget (or nothing
 * else can run), post-copy when even a freeze that moves no memory does not, else rounds.
 */
export function chooseMode(inputs: ModeInputs): { mode: 'stop-copy' | 'post-copy' | 'rounds'; reason: string } {
  const roundsPossible = inputs.tracking !== 'none' && (inputs.lazyThere || inputs.tracking === 'soft-dirty');
  if (!roundsPossible) {
    return {
      mode: 'stop-copy',
      reason: inputs.tracking === 'none' ? 'no way to track writes here (neither the uffd tracker nor soft-dirty)' : 'the destination cannot restore lazily',
    };
  }
  if (inputs.estimatedStopCopyMs <= inputs.budgetMs) return { mode: 'stop-copy', reason: 'a stop-copy fits the budget' };
  if (inputs.lazyThere && inputs.estimatedLazyFreezeMs > inputs.budgetMs) return { mode: 'post-copy', reason: 'even a freeze that moves no memory exceeds the budget' };
  return { mode: 'rounds', reason: 'rounds can bring the freeze within the budget' };
}
