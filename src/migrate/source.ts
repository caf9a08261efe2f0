// The source agent (`freezedry migrate`): authenticates with the destination, lets it check it
// can take the checkpoint before anything freezes, then moves the tree:
//   stop-copy: dump into an archive (the tree kept stopped), send it, restore there;
//   post-copy: dump everything but memory (the tree kept frozen by CRIU), restore there lazily,
//              the destination pulling the memory from CRIU's lazy page server here;
//   pre-copy:  rounds of sending memory while the tree runs (precopy.ts), then a post-copy
//              freeze that first sends the pages written since; the destination fills from
//              its copy;
//   hybrid:    the same rounds, then the pages written since are pulled as in post-copy;
//   auto:      stop-copy if it fits the downtime budget, else rounds, ending as pre-copy when
//              the last dirty set fits the budget and as hybrid when they stop converging.
// Rounds track writes with the native dirty tracker (userfaultfd write-protect, precopy.ts), or
// with CRIU's pre-dumps where only soft-dirty is there (criu-rounds.ts; pre-copy only).
// The original is ended only once the destination reports the tree running with all its
// memory; every failure before that resumes it. What moves (a process tree or a container)
// and how it is frozen, resumed and ended here is the subject's (subject.ts).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sourceHost } from '../archive/manifest.js';
import { PAGE_SIZE, warmUpImageDecoders } from '../images/memory-images.js';
import { features, version } from '../criu/features.js';
import { canLockWithNftables } from '../criu/locate.js';
import { migrationCriuOptions, type CriuOptions, type MigrationSwitch } from '../criu/options.js';
import { ErrorCode, FreezedryError, isFreezedryError } from '../errors.js';
import { processTree, readStat, residentBytes } from '../process/proc.js';
import { authenticateDestination } from './authentication.js';
import { bridgesOf, pinBridgeAddress, vethsOfTree } from './bridge-address.js';
import { CriuPreDumps } from './criu-rounds.js';
import { startProbe, validateProbeUrl, type Probe, type ProbeReport } from './downtime-probe.js';
import { bundleImages } from './image-bundle.js';
import { openPageRelay } from './page-relay.js';
import { connectSecure, loadCredentials, type TlsFiles } from './secure-transport.js';
import { LINK_TIMEOUT_MS, MessageChannel } from './message-channel.js';
import { chooseMode, estimateLazyFreezeMs, estimateStopCopyMs, nextStep } from './planning.js';
import { PreCopy } from './precopy.js';
import type { FinalReport, RoundReport } from './rounds.js';
import { heldTree, processSubject } from './process-subject.js';
import type { Held, MigrationSubject } from './subject.js';

export type MigrationMode = 'stop-copy' | 'pre-copy' | 'post-copy' | 'hybrid';
const MODES = ['auto', 'stop-copy', 'pre-copy', 'post-copy', 'hybrid'];

/**
 * How pre-copy rounds learn what the tree wrote. uffd: the native dirty tracker (Linux 6.7+,
 * no freeze per round). soft-dirty: CRIU's pre-dump and parent images (any kernel with
 * CONFIG_MEM_SOFT_DIRTY; each round freezes the tree while CRIU collects its pages).
 * auto: uffd where it works, else soft-dirty where the kernel has it.
 */
export type DirtyTracking = 'auto' | 'uffd' | 'soft-dirty';
const TRACKING = ['auto', 'uffd', 'soft-dirty'];

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

const PROBE_BYTES = 4 << 20;
/** How long the destination may take to restore before the source gives up and resumes. */
const RESTORE_TIMEOUT_MS = 120_000;

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
  /** With a probe: the longest gap between the service's answers, ms. */
  clientDowntimeMs?: number;
  probe?: ProbeReport;
}

type Steps = Omit<MigrateResult, 'mode' | 'totalMs' | 'bytesSent' | 'bytesOnWire'>;

export async function migrate(pid: number, options: MigrateOptions): Promise<MigrateResult> {
  validateMigrateOptions(options);
  if (!readStat(pid)) throw new FreezedryError(ErrorCode.NO_SUCH_PROCESS, `No process with pid ${pid}`, { pid });
  return migrateSubject(processSubject(pid), options);
}

export function validateMigrateOptions(options: MigrateOptions): void {
  if (!options.token) throw new FreezedryError(ErrorCode.INVALID_ARG_VALUE, 'migrate needs a token (--token or FREEZEDRY_TOKEN)');
  const requested = options.mode ?? 'auto';
  if (!MODES.includes(requested)) {
    throw new FreezedryError(ErrorCode.INVALID_ARG_VALUE, `unknown mode ${String(requested)} (${MODES.join(', ')})`);
  }
  const tracking = options.dirtyTracking ?? 'auto';
  if (!TRACKING.includes(tracking)) {
    throw new FreezedryError(ErrorCode.INVALID_ARG_VALUE, `unknown dirty tracking ${String(tracking)} (${TRACKING.join(', ')})`);
  }
  if (tracking === 'soft-dirty' && requested === 'hybrid') {
    throw new FreezedryError(ErrorCode.INVALID_ARG_VALUE, 'hybrid needs the uffd dirty tracker: CRIU cannot serve a lazy dump on top of pre-dumps');
  }
  if (options.probe !== undefined) validateProbeUrl(options.probe);
}

/** Moves the subject (validated by the caller) to the destination; see the top of this file. */
export async function migrateSubject(subject: MigrationSubject, options: MigrateOptions): Promise<MigrateResult> {
  const { pid } = subject;
  const requested = options.mode ?? 'auto';
  const tracking = options.dirtyTracking ?? 'auto';
  const log = options.log ?? (() => {});
  const started = performance.now();
  const linkTimeoutMs = options.linkTimeoutMs ?? LINK_TIMEOUT_MS;
  // Nothing is frozen yet; a destination that does not answer within the link timeout is unreachable.
  const credentials = loadCredentials(options.token, options.tls);
  const socket = await connectSecure(options.to.host, options.to.port, credentials, 'the destination', linkTimeoutMs);
  const channel = new MessageChannel(socket, { linkTimeoutMs });
  // An abort closes the connection: every wait then fails, and the failure path resumes the source.
  const abort = () => channel.close();
  options.signal?.addEventListener('abort', abort);
  const work = await mkdtemp(path.join(os.tmpdir(), 'freezedry-migrate-'));
  let rounds: Rounds | undefined;
  let probe: Probe | undefined;
  try {
    await authenticateDestination(channel, options.token);
    const criu = await version();
    const criuOptions: CriuOptions = {
      ...migrationCriuOptions(options),
      // Locking with nftables inside CRIU takes tens of ms less of the freeze than iptables.
      networkLock: options.networkLock ?? (canLockWithNftables(criu.path) ? 'nftables' : undefined),
    };
    // Tracking starts before anything is sent: the destination must know how rounds will come.
    if (requested !== 'stop-copy' && requested !== 'post-copy') rounds = await startRounds(subject, tracking, work, criuOptions, requested === 'auto');
    const softDirty = rounds?.tracking === 'soft-dirty';
    const veths = vethsOfTree(pid);
    // Its veth leaves this host's bridge when the tree ends here: that must not change our MAC.
    for (const bridge of bridgesOf(veths)) pinBridgeAddress(bridge);
    // A tree with its own network namespace brings its veth ends; the destination plugs them in.
    channel.send({
      type: 'hello',
      mode: requested,
      tracking: softDirty ? 'soft-dirty' : 'uffd',
      source: sourceHost(criu.text),
      criuOptions,
      // A container's veths are rebuilt by freezedry there (its hello says how), not by CRIU.
      network: { veths: subject.kind === 'process' ? veths.map((link) => link.ifname.replace(/@.*$/, '')) : [] },
      ...subject.hello,
    });
    const welcome = await channel.next('welcome');
    warmUpImageDecoders();
    probe = options.probe ? startProbe(options.probe) : undefined;
    await probe?.answering(); // a gap is measured from answers the service gave before
    const budgetMs = options.downtimeMs ?? 300;
    let decision: ModeDecision | undefined;
    let mode: MigrationMode | 'rounds' = requested === 'auto' ? 'rounds' : requested;
    if (requested === 'auto') {
      decision = await probeLink(pid, channel, budgetMs);
      const choice = chooseMode({ ...decision, budgetMs, tracking: rounds?.tracking ?? 'none', lazyThere: welcome.lazyPages !== false });
      mode = choice.mode;
      if (mode !== 'rounds') {
        decision.chosen = mode;
        decision.reason = choice.reason;
        rounds?.close(); // nothing of the tree is tracked while CRIU dumps it without rounds
        rounds = undefined;
      }
      channel.send({ type: 'mode', mode: mode === 'rounds' ? 'pre-copy' : mode });
      log(
        `link ${decision.bandwidthMBps.toFixed(0)} MB/s, ${(decision.residentBytes / 1048576).toFixed(0)} MiB resident: ` +
          `stop-copy would take about ${decision.estimatedStopCopyMs.toFixed(0)} ms, a lazy freeze ${decision.estimatedLazyFreezeMs.toFixed(0)} ms; ` +
          (mode === 'rounds' ? 'pre-copy rounds' : mode),
      );
    }
    log(`authenticated with ${options.to.host}:${options.to.port}; ${mode === 'rounds' ? 'auto' : mode}`);
    const context = { subject, channel, work, criuOptions, options, log };
    let result: Steps & { mode: MigrationMode };
    if (mode === 'stop-copy') result = { ...(await stopCopy(context)), mode };
    else if (mode === 'post-copy') result = { ...(await lazyMigration(context)), mode };
    else result = await withRounds(context, rounds as Rounds, mode === 'rounds' ? 'auto' : mode, budgetMs, decision);
    // Pulled pages travel raw, with a small header per request.
    const bytesOnWire = channel.bytesSent + (result.pagesPulled ?? 0) * PAGE_SIZE;
    const totalMs = performance.now() - started;
    const seen = await probe?.stop();
    if (seen) log(`the probe's longest gap between answers: ${seen.longestGapMs.toFixed(0)} ms (${seen.answers} answers, ${seen.reconnects} reconnects)`);
    return { ...result, decision, totalMs, bytesSent: channel.bytesSent, bytesOnWire, clientDowntimeMs: seen?.longestGapMs, probe: seen };
  } finally {
    await probe?.stop(false);
    rounds?.close();
    options.signal?.removeEventListener('abort', abort);
    channel.close();
    await rm(work, { recursive: true, force: true });
  }
}

type Rounds = PreCopy | CriuPreDumps;

/**
 * The write tracking for pre-copy rounds. With auto, the native tracker where it can attach, and
 * CRIU's pre-dumps where the kernel only has soft-dirty; `optional` (mode auto): none at all is
 * no error, the migration then cannot use rounds.
 */
async function startRounds(subject: MigrationSubject, tracking: DirtyTracking, work: string, criuOptions: CriuOptions, optional: boolean): Promise<Rounds | undefined> {
  const { pid } = subject;
  const preDumps = () => new CriuPreDumps(pid, work, criuOptions);
  if (tracking === 'soft-dirty' && subject.kind !== 'process') {
    throw new FreezedryError(ErrorCode.INVALID_ARG_VALUE, "a container's rounds track writes with the uffd dirty tracker: runc's pre-dumps are not used");
  }
  if (tracking === 'soft-dirty') {
    const { memTrack } = await features();
    if (!memTrack) {
      throw new FreezedryError(
        ErrorCode.KERNEL_FEATURE_MISSING,
        'dirty tracking soft-dirty: CRIU cannot track memory on this kernel (no soft-dirty bits, CONFIG_MEM_SOFT_DIRTY is off); use --dirty-tracking uffd or auto',
      );
    }
    return preDumps();
  }
  try {
    return PreCopy.start(pid);
  } catch (error) {
    // auto: a tracker that cannot attach here (too old a kernel, or not allowed in the target) is no error yet.
    if (tracking === 'uffd' || !isFreezedryError(error) || (error.code !== ErrorCode.KERNEL_FEATURE_MISSING && error.code !== ErrorCode.NOT_PERMITTED)) throw error;
    if (subject.kind === 'process' && (await features()).memTrack) return preDumps();
    if (optional) return undefined;
    throw new FreezedryError(error.code, `${error.message}; nor has this kernel soft-dirty bits for CRIU's pre-dump`, { cause: error });
  }
}

interface MigrationContext {
  subject: MigrationSubject;
  channel: MessageChannel;
  work: string;
  criuOptions: CriuOptions;
  options: MigrateOptions;
  log: (line: string) => void;
}

async function stopCopy(context: MigrationContext): Promise<Steps> {
  const { subject, channel, work, criuOptions, log } = context;
  const file = path.join(work, 'checkpoint.tar.zst');
  const frozeAt = performance.now();
  const { held, summary } = await subject.dumpArchive(file, criuOptions);
  return resumedOnFailure(held, async () => {
    log(`${summary}; sending`);
    await channel.sendFile({ type: 'archive' }, file, (await stat(file)).size);
    return handOver(context, held, frozeAt);
  });
}

/** Pre-dump rounds done: the final dump writes what changed since the last; the destination restores the chain. */
async function preDumpedFreeze(context: MigrationContext, pre: CriuPreDumps): Promise<Steps> {
  const { channel, log } = context;
  const frozeAt = performance.now();
  const dumped = await pre.freeze();
  const held = heldTree(dumped.pids);
  return resumedOnFailure(held, async () => {
    const final = await pre.sendFinal(channel, dumped);
    log(`frozen: ${final.pages} pages written since the last pre-dump sent (${(final.wireBytes / 1048576).toFixed(1)} MiB of images)`);
    channel.send({ type: 'dumped' });
    return { ...(await handOver(context, held, frozeAt)), final };
  });
}

/** The images are over: waits until the tree runs there, then ends the original. */
async function handOver({ channel, options, log }: MigrationContext, held: Held, frozeAt: number): Promise<Steps> {
  const restored = await withTimeout(channel.next('restored'), options.timeoutMs ?? RESTORE_TIMEOUT_MS, 'the destination did not restore the tree in time');
  const frozenMs = performance.now() - frozeAt;
  await held.end();
  channel.send({ type: 'done' });
  log(`running on the destination as pid ${String(restored.pid)}; the source has ended`);
  return { destinationPid: Number(restored.pid), frozenMs };
}

/**
 * Pre-copy rounds while the tree runs, then the freeze: as pre-copy (the last dirty pages sent
 * while frozen) or hybrid (pulled afterwards). auto picks which when the rounds stop.
 */
async function withRounds(
  context: MigrationContext,
  pre: Rounds,
  requested: 'pre-copy' | 'hybrid' | 'auto',
  budgetMs: number,
  decision: ModeDecision | undefined,
): Promise<Steps & { mode: MigrationMode }> {
  const { subject, channel, log } = context;
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
      const step = nextStep(pre.rounds, { budgetMs, residentBytes: resident, elapsedMs: performance.now() - started });
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

async function lazyMigration(
  { subject, channel, work, criuOptions, options, log }: MigrationContext,
  rounds?: { pre: PreCopy; mode: 'pre-copy' | 'hybrid' },
): Promise<Steps> {
  // As in a container checkpoint: images in checkpoint/, a container's own files beside.
  const imagesDir = path.join(work, 'lazy', 'checkpoint');
  // CRIU serves the memory on loopback only; the destination reaches it through the relay,
  // with the ticket it gets over the authenticated control connection.
  const port = 20000 + Math.floor(Math.random() * 40000);
  const relay = await openPageRelay({ host: channel.socket.localAddress ?? '127.0.0.1', criuPort: port, credentials: loadCredentials(options.token, options.tls), log });
  const frozeAt = performance.now();
  let restored: Promise<{ pid: number; at: number }> | undefined;
  let final: FinalReport | undefined;
  const steps: FreezeSteps = { dumpMs: 0, finalMs: 0, imagesMs: 0, restoreMs: 0 };
  const abandon = new AbortController();
  const lazyDump = subject.lazyDump({
    imagesDir,
    port,
    abandon: abandon.signal,
    criuOptions,
    onImages: async () => {
      steps.dumpMs = performance.now() - frozeAt;
      if (rounds) {
        final = await rounds.pre.final(channel, imagesDir, subject.pid, rounds.mode);
        log(`frozen: ${final.pages} pages written since the last round ${rounds.mode === 'pre-copy' ? `sent (${(final.wireBytes / 1048576).toFixed(1)} MiB)` : 'left to be pulled'}`);
      }
      steps.finalMs = performance.now() - frozeAt - steps.dumpMs;
      await subject.sendExtras?.(channel);
      const bundle = await bundleImages(imagesDir);
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
        steps.restoreMs = at - frozeAt - steps.dumpMs - steps.finalMs - steps.imagesMs;
        return { pid: Number(m.pid), at };
      });
      restored.catch(() => {}); // awaited below, after the dump
    },
  });
  const { held, done: dumping } = await lazyDump.catch((error: unknown) => {
    relay.close();
    throw error;
  });
  // Losing the destination ends CRIU's page server too: its client may never say goodbye.
  channel.onLost((cause) => abandon.abort(cause));
  return resumedOnFailure(held, async () => {
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
    return { destinationPid: running.pid, frozenMs: running.at - frozeAt, freezeSteps: steps, pagesPulled: Number(filled.pulled ?? filled.pages), final };
  });
}

/** Runs the rest of a migration; any failure, or this process exiting mid-way, resumes the source. */
async function resumedOnFailure<T>(held: Held, body: () => Promise<T>): Promise<T> {
  const unguard = held.guard();
  try {
    return await body();
  } catch (error) {
    await held.resume();
    throw migrationError(error, 'the source was resumed');
  } finally {
    unguard();
  }
}

/** Measures the link with an incompressible probe and estimates the downtimes to expect. */
async function probeLink(pid: number, channel: MessageChannel, downtimeBudgetMs: number): Promise<ModeDecision> {
  const start = performance.now();
  channel.sendBytes({ type: 'probe' }, randomBytes(PROBE_BYTES));
  await channel.next('probe-ok');
  const bandwidthMBps = PROBE_BYTES / 1e6 / Math.max((performance.now() - start) / 1000, 1e-3);
  const resident = residentBytes(processTree(pid));
  return {
    bandwidthMBps,
    residentBytes: resident,
    estimatedStopCopyMs: estimateStopCopyMs(resident, bandwidthMBps),
    estimatedLazyFreezeMs: estimateLazyFreezeMs(resident),
    downtimeBudgetMs,
    chosen: 'pre-copy',
    reason: '',
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number | undefined, message: string): Promise<T> {
  if (!ms) return promise;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new FreezedryError(ErrorCode.MIGRATION_FAILED, message)), ms).unref()),
  ]);
}

function migrationError(error: unknown, outcome: string): FreezedryError {
  if (isFreezedryError(error) && error.code !== ErrorCode.MIGRATION_FAILED) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FreezedryError(ErrorCode.MIGRATION_FAILED, `migration failed: ${message}; ${outcome}`, { cause: error });
}
