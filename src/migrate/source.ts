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
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sourceHost } from '../archive/manifest.js';
import { PAGE_SIZE } from '../images/memory-images.js';
import { prepareCodecs } from '../protobuf.js';
import { features, version } from '../criu/features.js';
import { canLockWithNftables, leavesLazyPagesInPlace } from '../criu/locate.js';
import { migrationCriuOptions, type CriuOptions } from '../criu/options.js';
import { ErrorCode, FreezedryError, isFreezedryError, ValidationError } from '../errors.js';
import { processTree, readStat, residentBytes } from '../process/proc.js';
import { authenticateDestination } from './authentication.js';
import { bridgesOf, outerEnds, pinBridgeAddress, vethsOfTree } from './bridge-address.js';
import { holdPoints, type HoldPoint } from './frame-replay.js';
import { CriuPreDumps } from './criu-rounds.js';
import { startProbe, validateProbeUrl, type Probe } from './downtime-probe.js';
import { connectSecure, loadCredentials } from './secure-transport.js';
import { LINK_TIMEOUT_MS, MessageChannel } from './message-channel.js';
import type { DirtyTracking, MigrateOptions, MigrateResult, MigrationMode, ModeDecision, Steps } from './migration-types.js';
import { chooseMode, estimateLazyFreezeMs, estimateStopCopyMs } from './planning.js';
import { PreCopy } from './precopy.js';
import { externalNetns, plainNetwork } from './prepared-network.js';
import { processSubject } from './process-subject.js';
import { lazyMigration, stopCopy, withRounds, type Rounds } from './source-modes.js';
import type { MigrationSubject } from './subject.js';

export type { DirtyTracking, FreezeSteps, MigrateOptions, MigrateResult, MigrationMode, ModeDecision } from './migration-types.js';

const MODES = ['auto', 'stop-copy', 'pre-copy', 'post-copy', 'hybrid'];
const TRACKING = ['auto', 'uffd', 'soft-dirty'];

const PROBE_BYTES = 4 << 20;

export async function migrate(pid: number, options: MigrateOptions): Promise<MigrateResult> {
  validateMigrateOptions(options);
  if (!readStat(pid)) throw new FreezedryError(ErrorCode.NO_SUCH_PROCESS, `No process with pid ${pid}`, { pid });
  return migrateSubject(processSubject(pid), options);
}

export function validateMigrateOptions(options: MigrateOptions): void {
  if (!options.token) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'migrate needs a token (--token or FREEZEDRY_TOKEN)');
  const requested = options.mode ?? 'auto';
  if (!MODES.includes(requested)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `unknown mode ${String(requested)} (${MODES.join(', ')})`);
  }
  const tracking = options.dirtyTracking ?? 'auto';
  if (!TRACKING.includes(tracking)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `unknown dirty tracking ${String(tracking)} (${TRACKING.join(', ')})`);
  }
  if (tracking === 'soft-dirty' && requested === 'hybrid') {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'hybrid needs the uffd dirty tracker: CRIU cannot serve a lazy dump on top of pre-dumps');
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
    const criuLeavesPagesInPlace = leavesLazyPagesInPlace(criu.path);
    // Tracking starts before anything is sent: the destination must know how rounds will come.
    if (requested !== 'stop-copy' && requested !== 'post-copy') rounds = await startRounds(subject, tracking, work, criuOptions, requested === 'auto');
    const softDirty = rounds?.tracking === 'soft-dirty';
    const veths = vethsOfTree(pid);
    // Looked up before the freeze (it runs `ip`): the bridges to pin, and where frames are held.
    const outer = outerEnds(veths);
    // Its veth leaves this host's bridge when the tree ends here: that must not change our MAC.
    for (const bridge of bridgesOf(outer)) pinBridgeAddress(bridge);
    // A container's veths are off their bridges while it is frozen (container/pause.ts): its
    // frames are held on the bridge.
    const holdPlan = options.replayFrames === false ? new Map<string, HoldPoint>() : holdPoints(veths, outer, subject.kind === 'container');
    // A plain namespace the destination can make ahead (prepared-network.ts).
    const plain = subject.kind === 'process' && veths.length > 0 ? await plainNetwork(pid) : undefined;
    if (plain && 'reason' in plain) log(`the tree's network namespace goes with CRIU: ${plain.reason}`);
    const netnsFacts = plain && 'facts' in plain ? plain.facts : undefined;
    // A tree with its own network namespace brings its veth ends; the destination plugs them in.
    channel.send({
      type: 'hello',
      mode: requested,
      tracking: softDirty ? 'soft-dirty' : 'uffd',
      source: sourceHost(criu.text),
      criuOptions,
      // A container's veths are rebuilt by freezedry there (its hello says how), not by CRIU.
      network: {
        veths: subject.kind === 'process' ? veths.map((link) => link.ifname.replace(/@.*$/, '')) : [],
        facts: netnsFacts,
      },
      // A 'frames' message follows 'restored': what was sent to the tree while it was frozen.
      replayFrames: holdPlan.size > 0,
      ...subject.hello,
    });
    const welcome = await channel.next('welcome');
    // Made there: every dump from here on (the pre-dumps' rounds share this object) saves the
    // namespace as its key only.
    if (welcome.network === 'prepared' && netnsFacts) criuOptions.external = [...(criuOptions.external ?? []), externalNetns(pid)];
    prepareCodecs();
    probe = options.probe ? startProbe(options.probe) : undefined;
    await probe?.answering(); // a gap is measured from answers the service gave before
    const budgetMs = options.downtimeMs ?? 300;
    let decision: ModeDecision | undefined;
    let mode: MigrationMode | 'rounds' = requested === 'auto' ? 'rounds' : requested;
    if (requested === 'auto') {
      decision = await probeLink(pid, channel, budgetMs, criuLeavesPagesInPlace);
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
    const context = { subject, channel, work, criuOptions, options, credentials, frameHoldPlan: holdPlan, criuLeavesPagesInPlace, log };
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


/**
 * The write tracking for pre-copy rounds. With auto, the native tracker where it can attach, and
 * CRIU's pre-dumps where the kernel only has soft-dirty; `optional` (mode auto): none at all is
 * no error, the migration then cannot use rounds.
 */
async function startRounds(subject: MigrationSubject, tracking: DirtyTracking, work: string, criuOptions: CriuOptions, optional: boolean): Promise<Rounds | undefined> {
  const { pid } = subject;
  const preDumps = () => new CriuPreDumps(pid, work, criuOptions);
  if (tracking === 'soft-dirty' && subject.kind !== 'process') {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "a container's rounds track writes with the uffd dirty tracker: runc's pre-dumps are not used");
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

/** Measures the link with an incompressible probe and estimates the downtimes to expect. */
async function probeLink(pid: number, channel: MessageChannel, downtimeBudgetMs: number, criuLeavesPagesInPlace: boolean): Promise<ModeDecision> {
  const start = performance.now();
  channel.sendBytes({ type: 'probe' }, randomBytes(PROBE_BYTES));
  await channel.next('probe-ok');
  const bandwidthMBps = PROBE_BYTES / 1e6 / Math.max((performance.now() - start) / 1000, 1e-3);
  const resident = residentBytes(processTree(pid));
  return {
    bandwidthMBps,
    residentBytes: resident,
    estimatedStopCopyMs: estimateStopCopyMs(resident, bandwidthMBps),
    estimatedLazyFreezeMs: estimateLazyFreezeMs(resident, criuLeavesPagesInPlace),
    downtimeBudgetMs,
    chosen: 'pre-copy',
    reason: '',
  };
}
