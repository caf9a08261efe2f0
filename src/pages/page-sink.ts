// A page-server session for one dump: CRIU gets one end of a socket pair as its ps.fd (fd 4 in
// criu swrk), the native sink reads the other and writes pages to a directory or an archive.
import { closeSync } from 'node:fs';
import { native, type NativeArchiveWriter, type NativePageSink, type NativePageSinkCounters } from '../native/binding.js';

export type SinkTarget = { directoryFd: number } | { archive: NativeArchiveWriter; prefix?: string } | { discard: true };

/** The fd number CRIU sees the page-server socket as: the first inherited fd after its RPC socket. */
export const CRIU_PAGE_SERVER_FD = 4;

export class PageSinkSession {
  /** Our copy of CRIU's end: hand it to the CRIU session, which closes it after spawning (-1 for a connected socket). */
  readonly criuEnd: number;
  readonly done: Promise<void>;
  failure: Error | undefined;
  private readonly sink: NativePageSink;

  private constructor(target: SinkTarget, connected?: number) {
    const [ours, theirs] = connected === undefined ? native().socketPair() : [connected, -1];
    this.criuEnd = theirs;
    let settle!: (error: Error | null) => void;
    this.done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    this.done.catch(() => {}); // observed through `failure` when CRIU's own answer comes first
    try {
      this.sink = new (native().PageSink)(ours, target, (error) => {
        this.failure = error ?? undefined;
        settle(error);
      });
    } catch (error) {
      if (theirs >= 0) closeSync(theirs);
      throw error;
    } finally {
      if (connected === undefined) closeSync(ours); // the sink holds its own duplicate
    }
  }

  /** A session on a socket CRIU already connected (a TCP page server); the caller keeps its fd. */
  static onConnection(socketFd: number, target: SinkTarget): PageSinkSession {
    return new PageSinkSession(target, socketFd);
  }

  static toDirectory(directoryFd: number): PageSinkSession {
    return new PageSinkSession({ directoryFd });
  }

  static toArchive(writer: NativeArchiveWriter, prefix?: string): PageSinkSession {
    return new PageSinkSession(prefix === undefined ? { archive: writer } : { archive: writer, prefix });
  }

  /** Drops every page (the protocol's own cost, for benchmarks). */
  static discarding(): PageSinkSession {
    return new PageSinkSession({ discard: true });
  }

  counters(): NativePageSinkCounters {
    return this.sink.counters();
  }

  files(): string[] {
    return this.sink.files();
  }

  pagemaps(): { name: string; bytes: Buffer }[] {
    return this.sink.pagemaps();
  }

  pagesEntries(): { index: number; name: string; size: number }[] {
    return this.sink.pagesEntries();
  }

  /** Stops a sink still waiting for CRIU (after CRIU failed or was never started). */
  cancel(): void {
    this.sink.cancel();
  }

  close(): void {
    this.sink.close();
  }
}
