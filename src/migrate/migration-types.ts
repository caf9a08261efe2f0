// The types of a live migration's source side: its options, modes and report.
import type { CriuOptions, MigrationSwitch } from '../criu/options.js';
import type { TlsFiles } from './secure-transport.js';
import type { ProbeReport } from './downtime-probe.js';
import type { FinalReport, RoundReport } from './rounds.js';

export type MigrationMode = 'stop-copy' | 'pre-copy' | 'post-copy' | 'hybrid';

/**
 * How pre-copy rounds learn what the tree wrote. uffd: the native dirty tracker (Linux 6.7+,
 * no freeze per round). soft-dirty: CRIU's pre-dump and parent images (any kernel with
 * CONFIG_MEM_SOFT_DIRTY; each round freezes the tree while CRIU collects its pages).
 * auto: uffd where it works, else soft-dirty where the kernel has it.
 */
export type DirtyTracking = 'auto' | 'uffd' | 'soft-dirty';

/** How auto chose: the link it measured and the downtimes it expected. */
export interface ModeDecision {
  bandwidthMBps: number;
  residentBytes: number;
  estimatedStopCopyMs: number;
  /** A freeze that moves no memory (post-copy's, and pre-copy's before its last pages). */
  estimatedLazyFreezeMs: number;
  downtimeBudgetMs: number;
  /** The mode it ended with, and why. */
  chosen: MigrationMode;
  reason: string;
}

export interface MigrateOptions extends Pick<CriuOptions, MigrationSwitch | 'networkLock'> {
  to: { host: string; port: number };
  token: string;
  /** Mutual TLS with certificates (PEM files) instead of a key derived from the token (which still authenticates inside). */
  tls?: TlsFiles;
  /** auto (default): see the top of this file. */
  mode?: MigrationMode | 'auto';
  /** The downtime budget auto and the pre-copy rounds aim at (default 300 ms). */
  downtimeMs?: number;
  /** How pre-copy rounds track writes (default auto). */
  dirtyTracking?: DirtyTracking;
  /**
   * An http:// URL of the service: the source agent GETs it every 10 ms over one keep-alive
   * connection from before the freeze until the source ended, and reports the longest gap
   * between answers as the client-observed downtime.
   */
  probe?: string;
  /**
   * A tree with its own network namespace: keep the TCP frames sent to it while it is frozen
   * and inject them there once it runs, so that a client's request need not wait for its
   * retransmission (default true; frame-replay.ts).
   */
  replayFrames?: boolean;
  /** Silence from the destination after which the migration fails and the source resumes (default 10 s). */
  linkTimeoutMs?: number;
  /** Gives up (resuming the source) if the destination has not restored the tree by then (default 120 s). */
  timeoutMs?: number;
  /** Progress lines for people. */
  log?: (line: string) => void;
  /** Stops the migration; the source is resumed. */
  signal?: AbortSignal;
}

/** The parts of a lazy freeze, in order; they add up to frozenMs. */
export interface FreezeSteps {
  /** CRIU's dump, until the tree's non-memory images were written (the network is locked in it). */
  dumpMs: number;
  /** Pre-copy: finding and sending the pages written since the last round; hybrid: naming them. */
  finalMs: number;
  /** Sending the non-memory images, until the destination stored them. */
  imagesMs: number;
  /** The destination's restore, until it reported the tree running. */
  restoreMs: number;
}

export interface MigrateResult {
  mode: MigrationMode;
  /** The tree's root pid on the destination. */
  destinationPid: number;
  /** How long the source was frozen before the destination ran the tree. */
  frozenMs: number;
  /** Post-copy, pre-copy and hybrid: where the frozen time went. */
  freezeSteps?: FreezeSteps;
  /** Until the source ended (post-copy: until the destination had all the memory). */
  totalMs: number;
  /** Bytes over the control connection (images, archives, pre-copied pages). */
  bytesSent: number;
  /** All bytes on the wire: bytesSent plus the pages pulled over CRIU's page-server connection. */
  bytesOnWire: number;
  /** Post-copy and hybrid: the pages the destination pulled from here after it ran the tree. */
  pagesPulled?: number;
  /** Pre-copy and hybrid: each round while the tree ran. */
  rounds?: RoundReport[];
  /** How the rounds tracked writes. */
  dirtyTracking?: 'uffd' | 'soft-dirty';
  /** Pre-copy: the pages sent during the freeze; hybrid: those left to be pulled. */
  final?: FinalReport;
  /** With mode auto: why this mode. */
  decision?: ModeDecision;
  /**
   * A tree with its own network namespace: the TCP frames sent to it while it was frozen,
   * which the destination injected into it once it ran (frame-replay.ts).
   */
  framesReplayed?: number;
  /** With a probe: the longest gap between the service's answers, ms. */
  clientDowntimeMs?: number;
  probe?: ProbeReport;
}

export type Steps = Omit<MigrateResult, 'mode' | 'totalMs' | 'bytesSent' | 'bytesOnWire'>;
