import { describe, expect, it } from 'vitest';
import { chooseMode, estimateLazyFreezeMs, estimateStopCopyMs, nextStep } from '../../src/migrate/planning.js';
import type { RoundReport } from '../../src/migrate/rounds.js';

const round = (index: number, pages: number, durationMs: number): RoundReport => ({ round: index, pages, wireBytes: pages * 1800, durationMs, dirtyRateMBps: 0 });
const GiB = 1 << 30;

describe('migration planning', () => {
  it('expects a stop-copy of 1 GiB over 1 Gbit/s to take seconds, a lazy freeze a fraction of that', () => {
    expect(estimateStopCopyMs(GiB, 117)).toBeGreaterThan(3000);
    expect(estimateLazyFreezeMs(GiB)).toBeLessThan(300);
  });

  it('goes on until the last dirty set fits the budget, then freezes with it', () => {
    const context = { budgetMs: 300, residentBytes: 256 << 20, elapsedMs: 2000 };
    // Round 0 moved 65536 pages in 2 s: about 33 pages per ms.
    const rounds = [round(0, 65536, 2000)];
    expect(nextStep(rounds, context).step).toBe('continue');
    rounds.push(round(1, 20000, 600));
    expect(nextStep(rounds, context).step).toBe('continue');
    rounds.push(round(2, 3000, 100));
    const decision = nextStep(rounds, context);
    expect(decision.step).toBe('pre-copy');
    expect(decision.expectedDowntimeMs).toBeLessThanOrEqual(300);
  });

  it('hands the rest to post-copy when the dirty set stops shrinking, or at the round cap', () => {
    const context = { budgetMs: 300, residentBytes: 256 << 20, elapsedMs: 2000 };
    const stuck = [round(0, 65536, 2000), round(1, 30000, 900), round(2, 29000, 880)];
    expect(nextStep(stuck, context)).toMatchObject({ step: 'hybrid', reason: expect.stringMatching(/stopped shrinking/) });
    const slow = [round(0, 65536, 2000), round(1, 40000, 1200), round(2, 30000, 900)];
    const limits = { maxRounds: 3, minShrink: 0.1, maxTotalMs: 60_000 };
    expect(nextStep(slow, { ...context, limits })).toMatchObject({ step: 'hybrid', reason: '3 rounds' });
    expect(nextStep(slow, { ...context, elapsedMs: 63_000 })).toMatchObject({ step: 'hybrid', reason: expect.stringMatching(/ms of rounds after the first copy/) });
  });

  it('does not count the first copy, however long, against the time the rounds may take', () => {
    // 4 GiB over 1 Gbit/s on two cores (bench migrate, 2026-12-05): the first copy took 44 s,
    // the first round of dirty pages 16 s. Stopping here froze the tree with a million pages.
    const context = { budgetMs: 300, residentBytes: 4 * GiB, elapsedMs: 60_300, criuLeavesPagesInPlace: true };
    const rounds = [round(0, 1052789, 44_000), round(1, 695696, 16_250)];
    expect(nextStep(rounds, context)).toMatchObject({ step: 'continue', reason: 'converging' });
  });

  it('ends rounds that stopped converging in pre-copy when the last dirty set leaves within CRIU\'s dump', () => {
    // 4 GiB: a lazy freeze of about 280 ms, of which CRIU's dump is about half.
    const context = { budgetMs: 300, residentBytes: 4 * GiB, elapsedMs: 40_000 };
    const limits = { maxRounds: 4, minShrink: 0.1, maxTotalMs: 60_000 };
    // Round 0 moved a million pages in 35 s (30 pages per ms); then 2000 pages: 67 ms to send.
    const small = [round(0, 1 << 20, 35_000), round(1, 60000, 2000), round(2, 6000, 200), round(3, 2000, 70)];
    expect(nextStep(small, { ...context, limits })).toMatchObject({ step: 'pre-copy', reason: expect.stringMatching(/4 rounds; its 2000 dirty pages leave while CRIU dumps/) });
    // 6000 pages (200 ms) would not: post-copy takes them.
    const large = [round(0, 1 << 20, 35_000), round(1, 60000, 2000), round(2, 6000, 200), round(3, 6000, 200)];
    expect(nextStep(large, { ...context, limits })).toMatchObject({ step: 'hybrid', reason: expect.stringMatching(/stopped shrinking/) });
  });

  it('with a CRIU that leaves the pages in the tree, expects a freeze that hardly grows, and takes rounds at 8 GiB', () => {
    expect(estimateLazyFreezeMs(8 * GiB, true)).toBeLessThan(200);
    expect(estimateLazyFreezeMs(8 * GiB, true) - estimateLazyFreezeMs(256 << 20, true)).toBeLessThan(40);
    expect(estimateLazyFreezeMs(8 * GiB)).toBeGreaterThan(300); // CRIU pins every page: post-copy
    const context = { budgetMs: 300, residentBytes: 8 * GiB, elapsedMs: 40_000 };
    // 3000 pages at 30 pages per ms: 100 ms to send, within the budget only beside the shorter freeze.
    const rounds = [round(0, 2 << 20, 70_000), round(1, 60000, 2000), round(2, 3000, 100)];
    expect(nextStep(rounds, context).step).toBe('continue');
    expect(nextStep(rounds, { ...context, criuLeavesPagesInPlace: true })).toMatchObject({ step: 'pre-copy', reason: expect.stringMatching(/fit the budget/) });
  });

  it("auto's first choice: stop-copy when it fits or nothing else can run, post-copy when no freeze fits, else rounds", () => {
    const base = { estimatedStopCopyMs: 5000, estimatedLazyFreezeMs: 200, budgetMs: 300, tracking: 'uffd' as const, lazyThere: true };
    expect(chooseMode(base).mode).toBe('rounds');
    expect(chooseMode({ ...base, estimatedStopCopyMs: 250 })).toMatchObject({ mode: 'stop-copy', reason: expect.stringMatching(/fits/) });
    expect(chooseMode({ ...base, estimatedLazyFreezeMs: 400 }).mode).toBe('post-copy');
    expect(chooseMode({ ...base, tracking: 'none' })).toMatchObject({ mode: 'stop-copy', reason: expect.stringMatching(/no way to track/) });
    expect(chooseMode({ ...base, lazyThere: false })).toMatchObject({ mode: 'stop-copy', reason: expect.stringMatching(/cannot restore lazily/) });
    // Soft-dirty pre-dumps end in a full dump: they need no lazy restore there.
    expect(chooseMode({ ...base, tracking: 'soft-dirty', lazyThere: false }).mode).toBe('rounds');
  });
});
