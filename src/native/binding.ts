// The only loader of the native addon; everything else imports this typed facade.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, FreezedryError } from '../errors.js';

export type ChannelEventHandler = (kind: 'message' | 'closed' | 'error', data?: Buffer | Error, fd?: number) => void;

export interface NativeCriuChannel {
  /** The socket end that `criu swrk` inherits. */
  readonly peerFd: number;
  closePeer(): void;
  send(message: Uint8Array): void;
  /** Keep the event loop alive for this channel's events (while a request is pending). */
  ref(): void;
  unref(): void;
  close(): void;
}

export interface NativeExitStatus {
  reaped: boolean;
  code: number;
  signal: number;
}

export interface NativeExitWatch {
  unref(): void;
  close(): void;
  /** Sends the signal through the process's pidfd (never to one that took its pid over); false once it is gone. */
  kill(signal: number): boolean;
}

export interface NativeArchiveEntry {
  name: string;
  /** Offset of the entry's tar header in the uncompressed stream. */
  headerOffset: number;
  size: number;
  /** XXH3-64 of the entry's data, 16 hex digits. */
  checksum: string;
}

export interface NativeArchiveWriter {
  beginEntry(name: string, header: Uint8Array | null): number;
  write(data: Uint8Array): void;
  endEntry(): NativeArchiveEntry;
  appendFile(name: string, header: Uint8Array, path: string): Promise<NativeArchiveEntry>;
  setReservedHeader(index: number, header: Uint8Array): void;
  finish(sync: boolean): Promise<number>;
  entries(): NativeArchiveEntry[];
  /** bytesStored: uncompressed bytes written as they are (adaptive compression). */
  counters(): { bytesIn: number; bytesOut: number; bytesStored: number };
}

export interface NativeArchiveReader {
  readonly streamSize: number;
  readonly fileSize: number;
  readonly frameCount: number;
  readSync(offset: number, length: number): Buffer;
  read(offset: number, length: number): Promise<Buffer>;
  copyTo(offset: number, size: number, fd: number, position?: number): Promise<string>;
}

export interface NativeUffdCounters {
  faults: number;
  pagesCopied: number;
  bytesCopied: number;
  zeroPages: number;
  tasks: number;
  pagesTotal: number;
  /** Milliseconds from the server's start; -1 until it happened. */
  firstFaultMs: number;
  restoredMs: number;
  completeMs: number;
}

export interface NativeUffdServer {
  counters(): NativeUffdCounters;
  close(): void;
}

export interface NativePageSinkCounters {
  bytes: number;
  pages: number;
  entries: number;
  images: number;
}

export interface NativePageSink {
  counters(): NativePageSinkCounters;
  /** Directory mode: the files written. */
  files(): string[];
  /** Archive mode: the pagemap images, to be added as entries. */
  pagemaps(): { name: string; bytes: Buffer }[];
  /** Archive mode: the pages entries whose headers are reserved. */
  pagesEntries(): { index: number; name: string; size: number }[];
  cancel(): void;
  close(): void;
}

export interface NativeDirtyTracker {
  /** [start, end) pairs of the page ranges written since the last scan. */
  scan(): Float64Array;
  /** [start, end) pairs of the tracked pages that hold data (present or swapped). */
  present(): Float64Array;
  /** [start, end) pairs of the tracked areas. */
  areas(): Float64Array;
  readonly trackedBytes: number;
  close(): void;
}

/** Where a lazy restore's pages come from; files and remote together: the files' images first. */
/** A remote page server; `ticket` is sent first when a relay in front of it asks for one. */
export interface NativeRemotePages {
  address: string;
  port: number;
  pids: number[];
  ticket?: Buffer;
}

export type NativePageSourceSpec =
  | { files: number[]; remote?: NativeRemotePages }
  /** readAheadWhenIdle: the fill decompresses ahead only on a core nobody else wants (a lazy restore's). */
  | { archive: NativeArchiveReader; starts: number[]; readAheadWhenIdle?: boolean }
  | { remote: NativeRemotePages };

export interface NativeMemoryCopy {
  /** The ranges back to back; one zstd frame when a level was given. */
  data: Buffer;
  /** Uncompressed size. */
  size: number;
  /** Bytes no longer mapped when read (zeros in data). */
  unreadable: number;
}

export interface NativeFrameCapture {
  /** Per point, its TCP frames so far, each after a 4-byte little-endian length; the capture ends unless goOn. */
  take(goOn?: boolean): Buffer[];
}

export interface NativeBinding {
  CriuChannel: new (onEvent: ChannelEventHandler) => NativeCriuChannel;
  ExitWatch: new (pid: number, onExit: (err: Error | null, status?: NativeExitStatus) => void) => NativeExitWatch;
  ArchiveWriter: new (
    fd: number,
    options: { level: number; frameSize: number; threads: number; maxPendingBytes?: number; durable?: boolean; paced?: boolean; adaptive?: boolean },
  ) => NativeArchiveWriter;
  ArchiveReader: new (fd: number) => NativeArchiveReader;
  PageSink: new (
    socketFd: number,
    target: { directoryFd: number } | { archive: NativeArchiveWriter; prefix?: string } | { discard: true },
    onDone: (err: Error | null) => void,
  ) => NativePageSink;
  UffdServer: new (
    socketPath: string,
    table: Record<number, Float64Array>,
    source: NativePageSourceSpec,
    options: { faultAround: number; fillChunk: number; fillHoldOffMs?: number },
    onEvent: (kind: 'restored' | 'complete' | 'failed', error?: Error) => void,
  ) => NativeUffdServer;
  DirtyTracker: new (pid: number) => NativeDirtyTracker;
  /**
   * Keeps, per point, what the interface sends or, with `to` (6 bytes), what it receives for that
   * address (promiscuous meanwhile: a bridge the address's port left), up to bufferBytes of the
   * kernel's accounting each.
   */
  FrameCapture: new (points: { ifindex: number; to?: Uint8Array }[], bufferBytes: number) => NativeFrameCapture;
  /** Sends length-prefixed frames out of the interface of that name (TCP only, checksums written); throws EINVAL if malformed. */
  injectFrames(ifname: string, batch: Uint8Array): { sent: number; skipped: number };
  /** Copies [start, length, ...] of a running process's memory; level > 0 compresses. */
  readMemory(pid: number, ranges: Float64Array, level: number): Promise<NativeMemoryCopy>;
  decompress(frame: Uint8Array): Promise<Buffer>;
  /** A pagemap image: its pages image and its runs as [vaddr, nrPages, flags, ...]; throws EINVAL if malformed. */
  parsePagemap(image: Uint8Array): { pagesId: number; runs: Float64Array };
  /** The VMAs of an mm image as [start, end, status, ...]; throws EINVAL if malformed. */
  parseVmas(image: Uint8Array): Float64Array;
  socketPair(): [number, number];
  /** Makes Node's OpenSSL reseed its generators from the kernel (true if it did). */
  reseedRandom(): boolean;
  /** A pipe: [readEnd, writeEnd], both close-on-exec. */
  pipe(): [number, number];
  /**
   * Starts argv (argv[0] looked up on PATH) without fork(), its cost independent of our memory;
   * fds[i] becomes its fd i (-1, or none given for 0-2: /dev/null), no other fd of ours reaches
   * it; env as NAME=value entries (default: ours). Its pid: our child, to reap (an ExitWatch does).
   */
  spawn(argv: string[], options: { fds?: number[]; newSession?: boolean; env?: string[] }): number;
  /** Takes the process's TCP sockets out of the repair mode a CRIU dump left them in; how many. */
  releaseRepairedSockets(pid: number): number;
  xxh3(data: Uint8Array): string;
  errnoName(errno: number): string;
  throwSysError(errno: number): never;
}

/** The package root: src/native and lib/native sit at the same depth. */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

let loaded: NativeBinding | undefined;

/**
 * An executable built beside the addon, e.g. freezedry-init: the local build's (build/Release),
 * else the prebuilt one of this platform (prebuilds/linux-ARCH, shipped in the package).
 */
export function nativeTool(name: string): string {
  const candidates = [path.join(packageRoot, 'build', 'Release', name), path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, name)];
  const found = candidates.find((file) => existsSync(file));
  if (!found) {
    throw new FreezedryError(ErrorCode.ADDON_LOAD, `${name} is missing (looked for ${candidates.join(' and ')}). Run 'npm install' (or 'npm run build:native') to build it.`);
  }
  return found;
}

export function native(): NativeBinding {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    throw new FreezedryError(ErrorCode.ADDON_LOAD, `freezedry runs on Linux only (this is ${process.platform})`);
  }
  const require = createRequire(import.meta.url);
  try {
    const explicit = process.env.FREEZEDRY_ADDON;
    loaded = (explicit ? require(explicit) : require('node-gyp-build')(packageRoot)) as NativeBinding;
  } catch (cause) {
    throw new FreezedryError(
      ErrorCode.ADDON_LOAD,
      `Cannot load the freezedry addon from ${process.env.FREEZEDRY_ADDON ?? packageRoot}: ` +
        `${(cause as Error).message}. Run 'npm install' (or 'npm run build:native') to build it.`,
      { cause },
    );
  }
  return loaded;
}
