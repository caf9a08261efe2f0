import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PageStore } from '../../src/migrate/page-store.js';
import type { LazyPlan } from '../../src/pages/lazy-plan.js';

const P = 4096;
const pageOf = (byte: number, count = 1) => Buffer.alloc(P * count, byte);

describe('pre-copied page store', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('overwrites pages sent again in place and routes each lazy page to the file or the source', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'page-store-'));
    const store = new PageStore(dir);
    store.write(7, [[10 * P, 13 * P]], Buffer.concat([pageOf(1), pageOf(2), pageOf(3)]));
    store.write(7, [[11 * P, 12 * P], [20 * P, 21 * P]], Buffer.concat([pageOf(9), pageOf(4)]));
    expect(store.bytes).toBe(4 * P);
    store.drop(7, [[12 * P, 13 * P]]);
    const file = readFileSync(store.file);
    expect([0, 1, 2, 3].map((i) => file[i * P])).toEqual([1, 9, 3, 4]);

    // Task 7 (remote image 0) needs pages 9..13 and 20; task 8 (remote image 1) has nothing here.
    const plan: LazyPlan = {
      table: { 7: Float64Array.from([9 * P, 5 * P, 0, 9 * P, 0, 20 * P, P, 0, 20 * P, 1]), 8: Float64Array.from([5 * P, P, 1, 5 * P, 0]) },
      images: [],
      eager: new Map(),
      lazyPages: 7,
      eagerPages: 0,
      pids: [7, 8],
    };
    const routed = store.route(plan);
    expect(Array.from(routed.table[7] as Float64Array)).toEqual([
      9 * P, P, 1, 9 * P, 0, // not here: remote image 0 → 1
      10 * P, 2 * P, 0, 0, 0, // pages 10 and 11 sit at offsets 0 and P
      12 * P, 2 * P, 1, 12 * P, 0, // dropped, then never sent
      20 * P, P, 0, 3 * P, 1,
    ]);
    expect(Array.from(routed.table[8] as Float64Array)).toEqual([5 * P, P, 2, 5 * P, 0]);
    expect(routed.localPages).toBe(3);
    expect(routed.remotePages).toBe(4);
    expect(() => store.write(7, [[0, P]], pageOf(0, 2))).toThrow(/bytes/);
    store.close();
  });

  // Whole blocks (1024 pages at consecutive offsets) are routed a block at a time: the routing
  // must still be exactly the page-by-page one, whatever was written and dropped.
  it('routes whole blocks as a page-by-page routing would', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'page-store-'));
    const step = fc.record({ drop: fc.boolean(), first: fc.integer({ min: 0, max: 4095 }), pages: fc.integer({ min: 1, max: 2500 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 8 }), fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 1, max: 4096 }), (steps, first, count) => {
        const store = new PageStore(dir);
        const offsets = new Map<number, number>(); // the reference: page → offset
        let end = 0;
        for (const { drop, first: at, pages } of steps) {
          const ranges: [number, number][] = [[at * P, (at + pages) * P]];
          if (drop) {
            store.drop(3, ranges);
            for (let page = at; page < at + pages; page++) offsets.delete(page);
          } else {
            store.write(3, ranges, Buffer.alloc(pages * P));
            for (let page = at; page < at + pages; page++) {
              if (!offsets.has(page)) offsets.set(page, (end += P) - P);
            }
          }
        }
        const plan: LazyPlan = { table: { 3: Float64Array.from([first * P, count * P, 0, first * P, 0]) }, images: [], eager: new Map(), lazyPages: count, eagerPages: 0, pids: [3] };
        const rows = Array.from(store.route(plan).table[3] as Float64Array);
        store.close();
        // Expand the rows back into pages: each page's source is what the reference says.
        const seen: number[] = [];
        const wrong: number[] = [];
        for (let r = 0; r < rows.length; r += 5) {
          const [start, length, image, offset] = rows.slice(r, r + 4) as [number, number, number, number];
          for (let i = 0; i < length / P; i++) {
            const page = start / P + i;
            seen.push(page);
            if ((image === 0 ? offset + i * P : -1) !== (offsets.get(page) ?? -1)) wrong.push(page);
          }
          if (r > 0) {
            // Longest runs: a row never continues the one before it.
            const [pStart, pLength, pImage, pOffset] = rows.slice(r - 5, r - 1) as [number, number, number, number];
            expect(pStart + pLength).toBe(start);
            expect(pImage === image && (image !== 0 || pOffset + pLength === offset)).toBe(false);
          }
        }
        expect(wrong).toEqual([]);
        expect(seen).toEqual(Array.from({ length: count }, (_, i) => first + i));
      }),
      { numRuns: 150 },
    );
  });
});
