import { describe, expect, it } from 'vitest';
import { batches, intersect, normalize, subtract, totalBytes, union, type Range } from '../../src/pages/page-ranges.js';

describe('page ranges', () => {
  it('merges overlapping and touching ranges and drops empty ones', () => {
    expect(normalize([[30, 40], [0, 10], [10, 20], [35, 50], [60, 60]])).toEqual([[0, 20], [30, 50]]);
  });

  it('intersects and subtracts against a set with several pieces', () => {
    const a: Range[] = [[0, 100], [200, 300]];
    const b: Range[] = [[50, 60], [90, 210], [250, 260], [400, 500]];
    expect(intersect(a, b)).toEqual([[50, 60], [90, 100], [200, 210], [250, 260]]);
    expect(subtract(a, b)).toEqual([[0, 50], [60, 90], [210, 250], [260, 300]]);
    expect(totalBytes(intersect(a, b)) + totalBytes(subtract(a, b))).toBe(totalBytes(a));
    expect(union(subtract(a, b), intersect(a, b))).toEqual(a);
    expect(subtract(a, [])).toEqual(a);
    expect(intersect(a, [])).toEqual([]);
  });

  it('splits into batches of a bounded size that cover the same bytes', () => {
    const ranges: Range[] = [[0, 10], [20, 45], [50, 52]];
    const out = [...batches(ranges, 16)];
    expect(out.map(totalBytes)).toEqual([16, 16, 5]);
    expect(normalize(out.flat())).toEqual(ranges);
  });
});
