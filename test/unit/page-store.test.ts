import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
});
