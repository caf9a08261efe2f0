// What a migration moves, and how this side freezes, resumes and ends it: a process tree
// (process-subject.ts, CRIU through its RPC) or a container (container/migrate.ts, through
// runc). The protocol between the agents (source.ts, destination.ts) is the same for both.
import type { CriuOptions } from '../criu/options.js';
import type { MessageChannel } from './message-channel.js';

/** A frozen tree, kept as it is until the destination runs its copy. */
export interface Held {
  /** The frozen tasks (host pids). */
  pids: number[];
  /** Lets it run on here (every failure before the hand-over). */
  resume(): Promise<void>;
  /** Ends it here (once the destination runs it with all its memory). */
  end(): Promise<void>;
  /** Resumes it should this process die while it is held (a watchdog outside it); returns the disarm. */
  guard(): () => void;
}

export interface LazyDumpRequest {
  /** Where the dump writes the non-memory images. */
  imagesDir: string;
  /** The port CRIU's lazy page server listens on, on loopback. */
  port: number;
  /** Ends the dump and its page server (the destination is gone). */
  abandon: AbortSignal;
  criuOptions: CriuOptions;
  /** The tree is frozen, before its dump goes on (synchronous: the dump waits for it). */
  onFrozen?(): void;
  /** The images are written and the tree frozen. */
  onImages(): Promise<void>;
  /** CRIU serves the memory. */
  onServing(): void;
}

export interface MigrationSubject {
  kind: 'process' | 'container';
  /** The root of the tree here (resident memory, dirty tracking). */
  pid: number;
  /** What 'hello' carries for the destination beyond the protocol's own fields. */
  hello: Record<string, unknown>;
  /** Stop-copy: a compressed archive of the tree, which stays frozen. */
  dumpArchive(file: string, criuOptions: CriuOptions): Promise<{ held: Held; summary: string }>;
  /** Freezes the tree and starts a lazy dump; `done` settles when CRIU stops serving memory. */
  lazyDump(request: LazyDumpRequest): Promise<{ held: Held; done: Promise<void> }>;
  /** Files the destination needs beside the images (a container's spec and file changes). */
  sendExtras?(channel: MessageChannel): Promise<void>;
}
