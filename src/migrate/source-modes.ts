// The source's mode runners (stop-copy, pre-dumped pre-copy, rounds, the lazy freeze), each
// resuming the subject on any failure before the hand-over; migrateSubject (source.ts) picks one.
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { CriuOptions } from '../criu/options.js';
import { ErrorCode, FreezedryError, isFreezedryError } from '../errors.js';
import { processTree, residentBytes } from '../process/proc.js';
import type { CriuPreDumps } from './criu-rounds.js';
import { bundleFiles } from './image-bundle.js';
import { isPeerReport, type MessageChannel } from './message-channel.js';
import type { FreezeSteps, MigrateOptions, MigrationMode, ModeDecision, Steps } from './migration-types.js';
import type { Credentials } from './secure-transport.js';
import { openPageRelay } from './page-relay.js';
import { nextStep } from './planning.js';
import type { PreCopy } from './precopy.js';
import { heldTree } from './process-subject.js';
import type { FinalReport } from './rounds.js';
import { holdFrames, type FrameHold, type HoldPoint } from './frame-replay.js';
import type { Held, MigrationSubject } from './subject.js';

/** How long the destination may take to restore before the source gives up and resumes. */
const RESTORE_TIMEOUT_MS = 120_000;
// How long a failed move waits, after resuming the source, for the destination's own reason.
const PEER_REASON_GRACE_MS = 500;

export type Rounds = PreCopy | CriuPreDumps;

export interface MigrationContext {
  subject: MigrationSubject;
  channel: MessageChannel;
  work: string;
  criuOptions: CriuOptions;
  options: MigrateOptions;
  /** The transport's credentials, read once (the page relay needs them too). */
  credentials: Credentials;
  /** Where the frames for each of the tree's veths (by its name inside) are held while it is frozen (holdPoints(), frame-replay.ts). */
  frameHoldPlan: Map<string, HoldPoint>;
  /** CRIU leaves a lazy dump's pages in the tree (scripts/criu/): its freeze hardly grows with memory. */
  criuLeavesPagesInPlace: boolean;
  log: (line: string) => void;
}

export async function stopCopy(context: MigrationContext): Promise<Steps> {
  const { subject, channel, work, criuOptions, log } = context;
  const file = path.join(work, 'checkpoint.tar.zst');
  const frozeAt = performance.now();
  const frames = holdFrames(context.frameHoldPlan, log);
  try {
    const { held, summary } = await subject.dumpArchive(file, criuOptions);
    return await resumedOnFailure(held, async () => {
      log(`${summary}; sending`);
      await channel.sendFile({ type: 'archive' }, file, (await stat(file)).size);
      return handOver(context, held, frozeAt, frames);
    });
  } finally {
    frames?.discard();
  }
}

/** Pre-dump rounds done: the final dump writes what changed since the last; the destination restores the chain. */
async function preDumpedFreeze(context: MigrationContext, pre: CriuPreDumps): Promise<Steps> {
  const { channel, log } = context;
  const frozeAt = performance.now();
  const frames = holdFrames(context.frameHoldPlan, log);
  try {
    const dumped = await pre.freeze();
    const held = heldTree(dumped.pid, dumped.pids, () => dumped.criuRunId);
    return await resumedOnFailure(held, async () => {
      const final = await pre.sendFinal(channel, dumped);
      log(`frozen: ${final.pages} pages written since the last pre-dump sent (${(final.wireBytes / 1048576).toFixed(1)} MiB of images)`);
      channel.send({ type: 'dumped' });
      return { ...(await handOver(context, held, frozeAt, frames)), final };
    });
  } finally {
    frames?.discard();
  }
}

/** The images are over: waits until the tree runs there, then ends the original. */
async function handOver({ channel, options, log }: MigrationContext, held: Held, frozeAt: number, frames: FrameHold | undefined): Promise<Steps> {
  const restored = await withTimeout(channel.next('restored'), options.timeoutMs ?? RESTORE_TIMEOUT_MS, 'the destination did not restore the tree in time');
  const frozenMs = performance.now() - frozeAt;
  const framesReplayed = frames?.send(channel);
  await held.end();
  channel.send({ type: 'done' });
  log(`running on the destination as pid ${String(restored.pid)}; the source has ended`);
  return { destinationPid: Number(restored.pid), frozenMs, framesReplayed };
}

/**
 * Pre-copy rounds while the tree runs, then the freeze: as pre-copy (the last dirty pages sent
 * while frozen) or hybrid (pulled afterwards). auto picks which when the rounds stop.
 */
export async function withRounds(
  context: MigrationContext,
  pre: Rounds,
  requested: 'pre-copy' | 'hybrid' | 'auto',
  budgetMs: number,
  decision: ModeDecision | undefined,
): Promise<Steps & { mode: MigrationMode }> {
  const { subject, channel, log, criuLeavesPagesInPlace } = context;
  const { pid } = subject;
  const dirtyTracking = pre.tracking;
  try {
    const started = performance.now();
    const resident = residentBytes(processTree(pid));
    let mode: 'pre-copy' | 'hybrid';
    for (;;) {
      const round = await pre.round(channel);
      log(
        `round ${round.round}: ${round.pages} pages (${(round.wireBytes / 1048576).toFixed(1)} MiB sent) in ${round.durationMs.toFixed(0)} ms` +
          (round.round > 0 ? `; written at ${round.dirtyRateMBps.toFixed(1)} MB/s` : ''),
      );
      const step = nextStep(pre.rounds, { budgetMs, residentBytes: resident, elapsedMs: performance.now() - started, criuLeavesPagesInPlace });
      if (step.step === 'continue') continue;
      mode = requested === 'auto' ? step.step : requested;
      // CRIU's final dump writes whatever is left itself: pre-dump rounds always end as pre-copy.
      if (pre.tracking === 'soft-dirty') mode = 'pre-copy';
      if (decision) Object.assign(decision, { chosen: mode, reason: step.reason });
      log(`rounds stop: ${step.reason} (a freeze now: about ${step.expectedDowntimeMs.toFixed(0)} ms); ${mode}`);
      break;
    }
    const result = pre.tracking === 'soft-dirty' ? await preDumpedFreeze(context, pre) : await lazyMigration(context, { pre, mode });
    return { ...result, mode, rounds: pre.rounds, dirtyTracking };
  } catch (error) {
    const reported = await channel.peerFailure();
    if (reported) throw migrationError(reported, 'the source runs on');
    // Failures after the freeze were already reported with the source resumed.
    throw isFreezedryError(error) ? error : migrationError(error, 'the source runs on');
  }
}

export async function lazyMigration(
  { subject, channel, work, criuOptions, options, credentials, frameHoldPlan, log }: MigrationContext,
  rounds?: { pre: PreCopy; mode: 'pre-copy' | 'hybrid' },
): Promise<Steps> {
  // As in a container checkpoint: images in checkpoint/, a container's own files beside.
  const imagesDir = path.join(work, 'lazy', 'checkpoint');
  // CRIU serves the memory on loopback only; the destination reaches it through the relay,
  // with the ticket it gets over the authenticated control connection.
  const port = 20000 + Math.floor(Math.random() * 40000);
  const relay = await openPageRelay({ host: channel.socket.localAddress ?? '127.0.0.1', criuPort: port, credentials, log });
  // When the tree is frozen (onFrozen; a container's runc and CRIU start before it pauses).
  let frozeAt = performance.now();
  const frames = holdFrames(frameHoldPlan, log);
  let framesReplayed: number | undefined;
  let restored: Promise<{ pid: number; at: number }> | undefined;
  let final: FinalReport | undefined;
  const steps: FreezeSteps = { dumpMs: 0, finalMs: 0, imagesMs: 0, restoreMs: 0 };
  const abandon = new AbortController();
  const lazyDump = subject.lazyDump({
    imagesDir,
    port,
    abandon: abandon.signal,
    criuOptions,
    // In pre-copy the pages written since the last round leave while CRIU dumps; hybrid pulls them.
    onFrozen: () => {
      frozeAt = performance.now();
      rounds?.pre.frozen(rounds.mode === 'pre-copy' ? channel : undefined);
    },
    onImages: async () => {
      steps.dumpMs = performance.now() - frozeAt;
      if (rounds) {
        final = await rounds.pre.final(channel, imagesDir, subject.pid, rounds.mode);
        log(`frozen: ${final.pages} pages written since the last round ${rounds.mode === 'pre-copy' ? `sent (${(final.wireBytes / 1048576).toFixed(1)} MiB)` : 'left to be pulled'}`);
      }
      steps.finalMs = performance.now() - frozeAt - steps.dumpMs;
      // Injected there as soon as the tree runs, without waiting for 'restored' to come here.
      frames?.sendSoFar(channel);
      await subject.sendExtras?.(channel);
      const bundle = bundleFiles(imagesDir);
      channel.sendBytes({ type: 'images', files: bundle.files }, bundle.bytes);
      await channel.next('images-ok');
      steps.imagesMs = performance.now() - frozeAt - steps.dumpMs - steps.finalMs;
      log(`sent ${bundle.files.length} non-memory images; serving memory on port ${relay.port}`);
    },
    onServing: () => {
      // Answered at once: CRIU serves pages only after this, and the restore there needs them.
      channel.send({ type: 'serve', port: relay.port, ticket: relay.ticket.toString('base64') });
      restored = withTimeout(channel.next('restored'), options.timeoutMs ?? RESTORE_TIMEOUT_MS, 'the destination did not restore the tree in time').then((m) => {
        log(`running on the destination as pid ${String(m.pid)}; it pulls its memory`);
        const at = performance.now();
        framesReplayed = frames?.send(channel);
        steps.restoreMs = at - frozeAt - steps.dumpMs - steps.finalMs - steps.imagesMs;
        return { pid: Number(m.pid), at };
      });
      restored.catch(() => {}); // awaited below, after the dump
    },
  });
  try {
    const { held, done: dumping } = await lazyDump.catch((error: unknown) => {
      relay.close();
      throw error;
    });
    // Losing the destination ends CRIU's page session too: its client may never say goodbye,
    // so the relay's connection to CRIU closes, or one that closes at once (the checkpoint's abandon).
    channel.onLost((cause) => {
      relay.close();
      abandon.abort(cause);
    });
    return await resumedOnFailure(held, async () => {
      await dumping.finally(() => relay.close()).catch((error: unknown) => {
        if (!abandon.signal.aborted) throw error;
        const cause = abandon.signal.reason as Error;
        throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `connection lost: ${cause.message}`, { cause });
      });
      if (!restored) throw new FreezedryError(ErrorCode.MIGRATION_FAILED, 'CRIU never started serving the memory');
      const running = await restored;
      const filled = await channel.next('filled');
      await held.end();
      channel.send({ type: 'done' });
      log('the destination has all the memory; the source has ended');
      return { destinationPid: running.pid, frozenMs: running.at - frozeAt, freezeSteps: steps, pagesPulled: Number(filled.pulled ?? filled.pages), final, framesReplayed };
    }, () => destinationReason(restored));
  } finally {
    frames?.discard(); // sent once the tree ran there; on a failure, its sockets close now
  }
}

/**
 * Runs the rest of a migration; any failure, or this process exiting mid-way, resumes the source.
 * The error says `peerReason()`'s, when there is one: the destination's own account of it.
 */
async function resumedOnFailure<T>(held: Held, body: () => Promise<T>, peerReason?: () => Promise<FreezedryError | undefined>): Promise<T> {
  const unguard = held.guard();
  try {
    return await body();
  } catch (error) {
    await held.resume();
    throw migrationError((await peerReason?.()) ?? error, 'the source was resumed');
  } finally {
    unguard();
  }
}

/**
 * What the destination said when it failed, if it did: its answer to the restore, awaited a
 * moment (its 'failed' message comes just before it closes the connection, which can end the
 * dump here first: CRIU's page server loses its client, or the lost connection abandons it).
 */
async function destinationReason(answer: Promise<unknown> | undefined): Promise<FreezedryError | undefined> {
  if (!answer) return undefined;
  const outcome = await Promise.race([answer.then(() => undefined, (error: unknown) => error), sleep(PEER_REASON_GRACE_MS)]);
  return isPeerReport(outcome) ? outcome : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number | undefined, message: string): Promise<T> {
  if (!ms) return promise;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new FreezedryError(ErrorCode.MIGRATION_FAILED, message)), ms).unref()),
  ]);
}

export function migrationError(error: unknown, outcome: string): FreezedryError {
  if (isFreezedryError(error) && error.code !== ErrorCode.MIGRATION_FAILED) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FreezedryError(ErrorCode.MIGRATION_FAILED, `migration failed: ${message}; ${outcome}`, { cause: error });
}
