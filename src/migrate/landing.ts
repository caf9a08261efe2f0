// How a migration's destination restores what arrives: a process tree with CRIU
// (destination.ts) or a container with runc (container/landing.ts).
import type { LazyFillStats } from '../pages/lazy-server.js';
import type { RemotePages } from '../pages/lazy-source.js';
import type { Message, MessageChannel } from './message-channel.js';

export interface Landing {
  /** Why this host cannot take it, checked before the source freezes anything. */
  refusals?: string[];
  /** The whole checkpoint is here: an archive, or images holding all memory. */
  restoreWhole(where: { archive: string } | { imagesDir: string }, signal: AbortSignal): Promise<{ pid: number; durationMs: number }>;
  /** What comes beside the images (a container's spec and file changes), into `top`. */
  receiveFiles?(channel: MessageChannel, offer: Message, top: string): Promise<void>;
  /**
   * Starts, before the source freezes, what restoreLazy will need (CRIU); returns what closes
   * it if restoreLazy never takes it.
   */
  prepareLazy?(): () => void;
  /** Runs it at once from the images in `top`/checkpoint, its memory pulled from the source. */
  restoreLazy(top: string, remote: RemotePages, signal: AbortSignal): Promise<{ pid: number; durationMs: number; fill?: Promise<LazyFillStats> }>;
  /** Ends what was restored (the source was lost before all memory arrived). */
  end(pid: number): Promise<void>;
  /** The name here of the outer end of each of the tree's veths, by its name inside (frame-replay.ts). */
  outerVeths?(): Map<string, string>;
  /** After a failure: removes what was prepared for a restore that never came. */
  discard?(): Promise<void>;
}

