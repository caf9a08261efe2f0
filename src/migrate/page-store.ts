// The destination's copy of pages sent ahead by pre-copy rounds: one file, and per task an
// index from page to file offset. A page sent again is overwritten in place. At restore it is
// the first source of the lazy pages; what it lacks (or was told is stale) comes from the source.
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PAGE_SIZE as PAGE } from '../images/memory-images.js';
import type { LazyPlan } from '../pages/lazy-plan.js';
import type { Range } from '../pages/page-ranges.js';

const BLOCK = 1024;

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
    pages.settle();
    if (at !== data.length) throw new Error(`pages message: ${data.length} bytes for ${at} bytes of ranges`);
  }

  /** Forgets pages (written again at the source since they were sent). */
  drop(pid: number, ranges: Range[]): void {
    const pages = this.index.get(pid);
    if (!pages) return;
    for (const [start, end] of ranges) for (let address = start; address < end; address += PAGE) pages.set(address / PAGE, -1);
    pages.settle();
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
        const emit = (page: number, runPages: number, offset: number) => {
          const start = page * PAGE;
          if (offset < 0) {
            out.push(start, runPages * PAGE, remoteImage, start, priority);
            remotePages += runPages;
          } else {
            out.push(start, runPages * PAGE, 0, offset, priority);
            localPages += runPages;
          }
        };
        if (pages) pages.forEachRun(address / PAGE, count, emit);
        else emit(address / PAGE, count, -1);
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
 * 2^35, past the small integers a Map hashes fast. A restore looks up every page once, while
 * the tree is frozen: a block found whole (all its pages at consecutive offsets, as a first
 * round writes them) when pages arrived is one step then, not 1024.
 */
class PageIndex {
  private readonly blocks = new Map<number, Float64Array>();
  /** Whole blocks: the offset of their first page. */
  private readonly whole = new Map<number, number>();
  /** Blocks changed since settle() last looked. */
  private readonly changed = new Set<number>();

  get(page: number): number {
    return this.blocks.get(Math.floor(page / BLOCK))?.[page % BLOCK] ?? -1;
  }

  set(page: number, offset: number): void {
    const key = Math.floor(page / BLOCK);
    let block = this.blocks.get(key);
    if (!block) {
      if (offset < 0) return;
      this.blocks.set(key, (block = new Float64Array(BLOCK).fill(-1)));
    }
    block[page % BLOCK] = offset;
    this.changed.add(key);
  }

  /** Works out which changed blocks are whole (called as pages arrive, before any freeze). */
  settle(): void {
    for (const key of this.changed) {
      const block = this.blocks.get(key) as Float64Array;
      const first = block[0] as number;
      let whole = first >= 0;
      for (let i = 1; whole && i < BLOCK; i++) whole = block[i] === first + i * PAGE;
      if (whole) this.whole.set(key, first);
      else this.whole.delete(key);
    }
    this.changed.clear();
  }

  /**
   * Calls `run` for each longest stretch of the `count` pages from `first` that are all not
   * held (offset -1) or all held at consecutive offsets (offset: the stretch's first page's).
   */
  forEachRun(first: number, count: number, run: (page: number, pages: number, offset: number) => void): void {
    this.settle();
    let runPage = first;
    let runPages = 0;
    let runOffset = -1;
    const extend = (page: number, pages: number, offset: number) => {
      if (runPages > 0 && (runOffset < 0 ? offset < 0 : offset === runOffset + runPages * PAGE)) {
        runPages += pages;
        return;
      }
      if (runPages > 0) run(runPage, runPages, runOffset);
      [runPage, runPages, runOffset] = [page, pages, offset];
    };
    for (let page = first; page < first + count; ) {
      const key = Math.floor(page / BLOCK);
      const within = page % BLOCK;
      const take = Math.min(BLOCK - within, first + count - page);
      const block = this.blocks.get(key);
      const whole = this.whole.get(key);
      if (!block) extend(page, take, -1);
      else if (whole !== undefined) extend(page, take, whole + within * PAGE);
      else for (let i = 0; i < take; i++) extend(page + i, 1, block[within + i] as number);
      page += take;
    }
    if (runPages > 0) run(runPage, runPages, runOffset);
  }
}

function writeAll(fd: number, data: Uint8Array, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, data, offset + done, length - done, position + done);
}
