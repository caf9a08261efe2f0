// Pre-copy where the kernel has no soft-dirty bits: a dirty tracker (userfaultfd write-protect,
// PAGEMAP_SCAN) on every task of the tree; rounds that send, while the tree runs, what it wrote
// since the previous round (everything it holds, in the first); and, once CRIU has frozen the
// tree, exactly the lazy pages the destination does not hold intact.
//
// A page the destination holds is trusted only while it sits in an area tracked since the
// start, write-protected at every scan (the tracker drops parts that are not), and unwritten
// since it was sent. Anything
// else (new tasks, new or re-made mappings) counts as never sent.
import path from 'node:path';
import { readSmallFile } from '../images/image-file.js';
import { PageFlags, PAGE_SIZE, parsePagemap, parsePstree } from '../images/memory-images.js';
import { native, type NativeMemoryCopy } from '../native/binding.js';
import { DirtyTracker } from '../pages/dirty-tracker.js';
import { batches, intersect, normalize, subtract, totalBytes, union, type Range } from '../pages/page-ranges.js';
import { namespacePid, processTree, readStat } from '../process/proc.js';
import type { MessageChannel } from './message-channel.js';
import { roundReport, type FinalReport, type RoundReport, type RoundsTracker } from './rounds.js';

interface TrackedTask {
  hostPid: number;
  imagePid: number;
  tracker: DirtyTracker;
  sent: Range[];
  trusted: Range[];
}

// 8 MiB per message: large enough for zstd and the wire, small enough to overlap reading one
// batch with sending the one before.
const BATCH_BYTES = 8 << 20;
const ZSTD_LEVEL = 1;

export class PreCopy implements RoundsTracker {
  readonly tracking = 'uffd';
  readonly rounds: RoundReport[] = [];
  private readonly tasks: TrackedTask[];
  private lastScanAt = performance.now();
  private rawBytes = 0;
  private wireBytes = 0;
  /**
   * What each task wrote since the last round, scanned once with the tree frozen. Once only:
   * a scan write-protects again what it found, so a second would miss those pages.
   */
  private writtenAtFreeze: { written: Map<TrackedTask, Range[]> } | { error: unknown } | undefined;
  /** The scan at the freeze and, in pre-copy, the sending of what it found. */
  private atFreeze: Promise<void> | undefined;
  private readonly sentAtFreeze = { pages: 0, wire: 0 };

  private constructor(tasks: TrackedTask[]) {
    this.tasks = tasks;
  }

  /** Starts tracking every task of the tree below `pid`. */
  static start(pid: number): PreCopy {
    const tasks: TrackedTask[] = [];
    try {
      // A zombie has no memory to track (and cannot be ptraced): the dump takes it as it is.
      for (const hostPid of processTree(pid).filter((p) => readStat(p)?.state !== 'Z')) {
        const tracker = DirtyTracker.attach(hostPid);
        const imagePid = namespacePid(hostPid) ?? hostPid;
        tasks.push({ hostPid, imagePid, tracker, sent: [], trusted: normalize(tracker.areas()) });
      }
    } catch (error) {
      for (const task of tasks) task.tracker.close();
      throw error;
    }
    return new PreCopy(tasks);
  }

  /** Compressed bytes per raw byte so far (1 before anything was sent). */
  get compression(): number {
    return this.rawBytes > 0 ? this.wireBytes / this.rawBytes : 1;
  }

  /** Sends one round and waits until the destination has stored it. */
  async round(channel: MessageChannel): Promise<RoundReport> {
    const index = this.rounds.length;
    const started = performance.now();
    const sinceLastScan = started - this.lastScanAt;
    let pages = 0;
    let wire = 0;
    for (const task of this.tasks) {
      const written = normalize(task.tracker.scan());
      // Round 0: everything it holds (pages written meanwhile are caught by the next scan).
      const ranges = index === 0 ? normalize(task.tracker.present()) : written;
      // After a scan, the tracker's areas are those still write-protected (see DirtyTracker.scan).
      task.trusted = intersect(task.trusted, normalize(task.tracker.areas()));
      wire += await this.send(channel, task.hostPid, task.imagePid, ranges);
      task.sent = union(task.sent, ranges);
      pages += totalBytes(ranges) / PAGE_SIZE;
    }
    this.lastScanAt = started;
    channel.send({ type: 'round-end', round: index });
    await channel.next('round-ok');
    const report = roundReport(index, pages, wire, started, sinceLastScan);
    this.rounds.push(report);
    return report;
  }

  /**
   * The tree is frozen (nothing in it writes now): the last scan runs at once, beside CRIU's
   * dump, rather than after it (tens of milliseconds at a few GiB that the freeze no longer
   * waits for). It runs after the caller's turn, which answers CRIU first. Given the channel
   * (pre-copy), what it found written is sent at once too, read from the frozen tree while CRIU
   * dumps it, so that after the dump the freeze waits only for lazy pages never sent.
   */
  frozen(channel?: MessageChannel): void {
    this.atFreeze ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const written = this.scanAtFreeze();
      if (channel) await this.sendAtFreeze(channel, written);
    });
    this.atFreeze.catch(() => {}); // final() reports it
  }

  private scanAtFreeze(): Map<TrackedTask, Range[]> {
    if (!this.writtenAtFreeze) {
      try {
        this.writtenAtFreeze = { written: new Map(this.tasks.map((task) => [task, normalize(task.tracker.scan())])) };
      } catch (error) {
        this.writtenAtFreeze = { error };
      }
    }
    if ('error' in this.writtenAtFreeze) throw this.writtenAtFreeze.error;
    return this.writtenAtFreeze.written;
  }

  /**
   * A last round of the frozen tree's written pages, before its images exist: none of them is
   * stale after it. A task that cannot be read (it ended since the last round) is left to
   * final(), which sends only for the tasks CRIU dumped.
   */
  private async sendAtFreeze(channel: MessageChannel, written: Map<TrackedTask, Range[]>): Promise<void> {
    for (const task of this.tasks) {
      const ranges = written.get(task) as Range[];
      try {
        this.sentAtFreeze.wire += await this.send(channel, task.hostPid, task.imagePid, ranges);
      } catch {
        continue;
      }
      this.sentAtFreeze.pages += totalBytes(ranges) / PAGE_SIZE;
      task.sent = union(task.sent, ranges);
      written.set(task, []);
    }
  }

  /**
   * With the tree frozen by CRIU and its images in `imagesDir`: per task, the lazy pages the
   * destination lacks or holds stale. pre-copy sends them; hybrid tells the destination to
   * forget its stale copies, and they are pulled from CRIU's page server with the rest.
   */
  async final(channel: MessageChannel, imagesDir: string, rootPid: number, mode: 'pre-copy' | 'hybrid'): Promise<FinalReport> {
    const hostPidOf = new Map(processTree(rootPid).map((host) => [namespacePid(host) ?? host, host]));
    // Read at once, as readSmallFile says why: the tree is frozen meanwhile.
    const dumped = parsePstree(readSmallFile(path.join(imagesDir, 'pstree.img'))).map((task) => task.pid);
    await this.atFreeze;
    const writtenSinceLastRound = this.scanAtFreeze();
    let { pages, wire } = this.sentAtFreeze;
    for (const imagePid of dumped) {
      const lazy = lazyRanges(imagesDir, imagePid);
      const task = this.tasks.find((t) => t.imagePid === imagePid && hostPidOf.get(imagePid) === t.hostPid);
      let needed = lazy;
      if (task) {
        const written = writtenSinceLastRound.get(task) as Range[];
        const trusted = intersect(task.trusted, normalize(task.tracker.areas()));
        const intact = subtract(intersect(task.sent, trusted), written);
        needed = subtract(lazy, intact);
      }
      if (needed.length === 0) continue;
      pages += totalBytes(needed) / PAGE_SIZE;
      if (mode === 'pre-copy') {
        const hostPid = hostPidOf.get(imagePid);
        if (hostPid === undefined) throw new Error(`task ${imagePid} of the dump is not in the frozen tree`);
        wire += await this.send(channel, hostPid, imagePid, needed);
      } else {
        channel.send({ type: 'stale', pid: imagePid, ranges: needed.flat() });
      }
    }
    return { pages, wireBytes: wire };
  }

  close(): void {
    for (const task of this.tasks) task.tracker.close();
  }

  /** Reads and sends `ranges` of a task, one batch read ahead; returns the bytes on the wire. */
  private async send(channel: MessageChannel, hostPid: number, imagePid: number, ranges: Range[]): Promise<number> {
    const read = (batch: Range[]): Promise<NativeMemoryCopy> =>
      native().readMemory(hostPid, Float64Array.from(batch.flatMap(([start, end]) => [start, end - start])), ZSTD_LEVEL);
    const pieces = [...batches(ranges, BATCH_BYTES)];
    let wire = 0;
    let next = pieces.length > 0 ? read(pieces[0] as Range[]) : undefined;
    for (let i = 0; i < pieces.length; i++) {
      const copy = await (next as Promise<NativeMemoryCopy>);
      next = i + 1 < pieces.length ? read(pieces[i + 1] as Range[]) : undefined;
      channel.sendBytes({ type: 'pages', pid: imagePid, ranges: (pieces[i] as Range[]).flat(), raw: copy.size }, copy.data);
      await channel.drained();
      wire += copy.data.length;
      this.rawBytes += copy.size;
      this.wireBytes += copy.data.length;
    }
    next?.catch(() => {});
    return wire;
  }
}

/** The pages of a task that a lazy dump left to be pulled (not in its pages image). */
function lazyRanges(imagesDir: string, imagePid: number): Range[] {
  let bytes: Buffer;
  try {
    bytes = readSmallFile(path.join(imagesDir, `pagemap-${imagePid}.img`));
  } catch {
    return []; // a task without memory of its own (a zombie)
  }
  return normalize(
    parsePagemap(bytes)
      .entries.filter((e) => (e.flags & PageFlags.LAZY) !== 0)
      .map((e): Range => [e.vaddr, e.vaddr + e.nrPages * PAGE_SIZE]),
  );
}
