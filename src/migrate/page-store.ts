// The destination's copy of pages sent ahead by pre-copy rounds: one file, and per task an
// index from page to file offset. A page sent again is overwritten in place. At restore it is
// the first source of the lazy pages; what it lacks (or was told is stale) comes from the source.
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PAGE_SIZE as PAGE } from '../images/memory-images.js';
import type { LazyPlan } from '../pages/lazy-plan.js';
import type { Range } from '../pages/page-ranges.js';

export class PageStore {
  readonly file: string;
  private readonly fd: number;
  private end = 0;
  /** image pid → page index (see PageIndex). */
  private readonly index = new Map<number, PageIndex>();

  constructor(dir: string) {
    this.file = path.join(dir, 'precopied.pages');
    this.fd = openSync(this.file, 'w+', 0o600);
  }

  /** Bytes the file holds (pages sent more than once count once). */
  get bytes(): number {
    return this.end;
  }

  /** `data` holds the ranges' bytes back to back; ranges are page aligned. */
  write(pid: number, ranges: Range[], data: Uint8Array): void {
    let pages = this.index.get(pid);
    if (!pages) this.index.set(pid, (pages = new PageIndex()));
    let run = { file: -1, data: 0, length: 0 };
    const flush = () => {
      if (run.length > 0) writeAll(this.fd, data, run.data, run.length, run.file);
    };
    let at = 0;
    for (const [start, end] of ranges) {
      for (let address = start; address < end; address += PAGE, at += PAGE) {
        const page = address / PAGE;
        let offset = pages.get(page);
        if (offset < 0) {
          offset = this.end;
          this.end += PAGE;
          pages.set(page, offset);
        }
        if (run.length > 0 && offset === run.file + run.length && at === run.data + run.length) {
          run.length += PAGE;
        } else {
          flush();
          run = { file: offset, data: at, length: PAGE };
        }
      }
    }
    flush();
    if (at !== data.length) throw new Error(`pages message: ${data.length} bytes for ${at} bytes of ranges`);
  }

  /** Forgets pages (written again at the source since they were sent). */
  drop(pid: number, ranges: Range[]): void {
    const pages = this.index.get(pid);
    if (!pages) return;
    for (const [start, end] of ranges) for (let address = start; address < end; address += PAGE) pages.set(address / PAGE, -1);
  }

  /**
   * A remote lazy plan (every lazy page pulled from the source's page server) turned into one
   * that takes each page from this file when it holds it: image 0 is this file, and the remote
   * images follow (numbered from 1).
   */
  route(plan: LazyPlan): LazyPlan & { localPages: number; remotePages: number } {
    const table: Record<number, Float64Array> = {};
    let localPages = 0;
    let remotePages = 0;
    for (const [key, rows] of Object.entries(plan.table)) {
      const pid = Number(key);
      const pages = this.index.get(pid);
      const out: number[] = [];
      for (let r = 0; r + 4 < rows.length; r += 5) {
        const address = rows[r] as number;
        const count = (rows[r + 1] as number) / PAGE;
        const remoteImage = (rows[r + 2] as number) + 1;
        const priority = rows[r + 4] as number;
        // Runs of pages that are all remote (-1), or all here at consecutive offsets; this runs
        // for every page of the restore while the tree is frozen.
        const offsets = pages ? pages.range(address / PAGE, count) : new Float64Array(count).fill(-1);
        // Counting in pages (small integers) keeps this loop cheap before the JIT has seen it.
        let runFirst = 0;
        for (let i = 1; i <= count; i++) {
          const first = offsets[runFirst] as number;
          if (i < count) {
            const offset = offsets[i] as number;
            if (first < 0 ? offset < 0 : offset === first + (i - runFirst) * PAGE) continue;
          }
          const start = address + runFirst * PAGE;
          const length = (i - runFirst) * PAGE;
          if (first < 0) {
            out.push(start, length, remoteImage, start, priority);
            remotePages += i - runFirst;
          } else {
            out.push(start, length, 0, first, priority);
            localPages += i - runFirst;
          }
          runFirst = i;
        }
      }
      table[pid] = Float64Array.from(out);
    }
    return { ...plan, table, images: [path.basename(this.file)], localPages, remotePages };
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Page number → file offset (-1: not held), in blocks of 1024 pages: page numbers go up to
 * 2^35, past the small integers a Map hashes fast, and a restore looks up every page once.
 */
class PageIndex {
  private readonly blocks = new Map<number, Float64Array>();

  get(page: number): number {
    return this.blocks.get(Math.floor(page / 1024))?.[page % 1024] ?? -1;
  }

  /** The offsets of `count` pages from `first`, copied a block at a time. */
  range(first: number, count: number): Float64Array {
    const out = new Float64Array(count).fill(-1);
    for (let page = first; page < first + count; ) {
      const within = page % 1024;
      const take = Math.min(1024 - within, first + count - page);
      const block = this.blocks.get(Math.floor(page / 1024));
      if (block) out.set(block.subarray(within, within + take), page - first);
      page += take;
    }
    return out;
  }

  set(page: number, offset: number): void {
    const key = Math.floor(page / 1024);
    let block = this.blocks.get(key);
    if (!block) {
      if (offset < 0) return;
      this.blocks.set(key, (block = new Float64Array(1024).fill(-1)));
    }
    block[page % 1024] = offset;
  }
}

function writeAll(fd: number, data: Uint8Array, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, data, offset + done, length - done, position + done);
}
