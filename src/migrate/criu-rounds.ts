// Pre-copy with CRIU's own memory tracking, where the kernel has soft-dirty bits but the native
// dirty tracker cannot run (kernels before 6.7: no UFFD_FEATURE_WP_ASYNC or PAGEMAP_SCAN), or
// where it is asked for (--dirty-tracking soft-dirty).
//
// Each round is a CRIU pre-dump (the tree frozen only while CRIU collects its pages), whose
// images are a child of the round before (`parent` links: round N holds only what was written
// since round N-1). The freeze is a full dump with the last round as parent, so it writes only
// the pages written since; the destination keeps the same chain of directories and restores
// from the last one, CRIU reading unchanged pages through the parents.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { checkpoint, type CheckpointResult } from '../operations/checkpoint.js';
import type { CriuOptions } from '../criu/options.js';
import type { MessageChannel } from './message-channel.js';
import { roundReport, type FinalReport, type RoundReport, type RoundsTracker } from './rounds.js';

export class CriuPreDumps implements RoundsTracker {
  readonly tracking = 'soft-dirty';
  readonly rounds: RoundReport[] = [];
  private lastRoundAt = performance.now();

  /** `work`: a directory of the source's own, which keeps the chain until the migration ends. */
  constructor(
    private readonly pid: number,
    private readonly work: string,
    private readonly criuOptions: CriuOptions,
  ) {}

  /** Pre-dumps what changed since the last round and sends it; waits until the destination has it. */
  async round(channel: MessageChannel): Promise<RoundReport> {
    const index = this.rounds.length;
    const started = performance.now();
    const sinceLast = started - this.lastRoundAt;
    const dumped = await checkpoint(this.pid, {
      ...this.criuOptions,
      imagesDir: this.dir(`r${index}`),
      preDump: true,
      parentImages: index > 0 ? `../r${index - 1}` : undefined,
    });
    const wireBytes = await this.send(channel, `r${index}`);
    channel.send({ type: 'round-end', round: index });
    await channel.next('round-ok');
    const pages = dumped.stats?.pagesWritten ?? 0;
    this.lastRoundAt = started;
    const report = roundReport(index, pages, wireBytes, started, sinceLast);
    this.rounds.push(report);
    return report;
  }

  /** The freeze: a dump of everything, its memory only what changed since the last round; the tree stays stopped. */
  freeze(): Promise<CheckpointResult> {
    const last = this.rounds.length - 1;
    return checkpoint(this.pid, {
      ...this.criuOptions,
      imagesDir: this.dir('final'),
      leaveStopped: true,
      trackMem: true,
      parentImages: last >= 0 ? `../r${last}` : undefined,
    });
  }

  /** Sends the frozen tree's images (after freeze()). */
  async sendFinal(channel: MessageChannel, dumped: CheckpointResult): Promise<FinalReport> {
    const wireBytes = await this.send(channel, 'final');
    return { pages: dumped.stats?.pagesWritten ?? 0, wireBytes };
  }

  close(): void {}

  private dir(name: string): string {
    return path.join(this.work, 'pre-dumps', name);
  }

  /** Each image file of one directory of the chain, as it is (CRIU's `parent` link stays here). */
  private async send(channel: MessageChannel, name: string): Promise<number> {
    const dir = this.dir(name);
    let bytes = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.img')) continue;
      const file = path.join(dir, entry.name);
      const { size } = await stat(file);
      await channel.sendFile({ type: 'image-file', dir: name, name: entry.name }, file, size);
      bytes += size;
    }
    return bytes;
  }
}
