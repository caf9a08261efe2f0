// Sets of address ranges, as sorted, disjoint, non-touching [start, end) pairs: what pre-copy
// has sent, what was written since, what a dump still needs.
export type Range = [start: number, end: number];

/** [start, end, start, end, …] (how ranges cross the addon and the wire) as pairs. */
export function fromFlat(flat: ArrayLike<number>): Range[] {
  const ranges: Range[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) ranges.push([flat[i] as number, flat[i + 1] as number]);
  return ranges;
}

/** Sorted and merged (touching or overlapping ranges become one). */
export function normalize(ranges: Iterable<Range>): Range[] {
  const sorted = [...ranges].filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [start, end] of sorted) {
    const last = out.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

export function union(a: Range[], b: Range[]): Range[] {
  return normalize([...a, ...b]);
}

/** The parts of `a` inside `b` (both normalized). */
export function intersect(a: Range[], b: Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const [start, end] of a) {
    while (j < b.length && (b[j] as Range)[1] <= start) j++;
    for (let k = j; k < b.length && (b[k] as Range)[0] < end; k++) {
      const [bs, be] = b[k] as Range;
      out.push([Math.max(start, bs), Math.min(end, be)]);
    }
  }
  return out;
}

/** The parts of `a` outside `b` (both normalized). */
export function subtract(a: Range[], b: Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const [start, end] of a) {
    let at = start;
    while (j < b.length && (b[j] as Range)[1] <= at) j++;
    for (let k = j; k < b.length && (b[k] as Range)[0] < end; k++) {
      const [bs, be] = b[k] as Range;
      if (bs > at) out.push([at, bs]);
      at = Math.max(at, be);
    }
    if (at < end) out.push([at, end]);
  }
  return out;
}

export function totalBytes(ranges: Range[]): number {
  return ranges.reduce((sum, [s, e]) => sum + (e - s), 0);
}

/** Pieces of at most `limit` bytes each (ranges split where needed), for bounded messages. */
export function* batches(ranges: Range[], limit: number): Generator<Range[]> {
  let batch: Range[] = [];
  let size = 0;
  for (const range of ranges) {
    const end = range[1];
    let start = range[0];
    while (start < end) {
      const take = Math.min(end - start, limit - size);
      batch.push([start, start + take]);
      size += take;
      start += take;
      if (size >= limit) {
        yield batch;
        batch = [];
        size = 0;
      }
    }
  }
  if (batch.length > 0) yield batch;
}
