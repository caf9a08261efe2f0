// The destination agent (`freezedry receive`): authenticates each source, checks that this host
// can take its checkpoint, restores it, and tells the source when the tree runs here, so that
// the source ends its original only then.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import path from 'node:path';
import { compatibilityGaps } from '../archive/compatibility.js';
import type { SourceHost } from '../archive/manifest.js';
import { versionAndFeatures } from '../criu/features.js';
import { canLockWithNftables, locateCriu } from '../criu/locate.js';
import { migrationCriuOptions, type CriuOptions } from '../criu/options.js';
import { ErrorCode, FreezedryError, isFreezedryError, ValidationError } from '../errors.js';
import { restoreOnStartedCriu } from '../operations/restore.js';
import { startCriu, type StartedCriu } from '../criu/operation.js';
import { tlsModule } from './deferred-modules.js';
import { authenticateSource } from './authentication.js';
import { PAGE_SIZE } from '../images/memory-images.js';
import { prepareCodecs } from '../protobuf.js';
import { native } from '../native/binding.js';
import type { LazyPlan } from '../pages/lazy-plan.js';
import { fromFlat, type Range } from '../pages/page-ranges.js';
import { LINK_TIMEOUT_MS, MessageChannel, type Message } from './message-channel.js';
import { processTree, signalEach } from '../process/proc.js';
import { receiveImages } from './image-bundle.js';
import { pinBridgeAddress } from './bridge-address.js';
import { prepareNetwork, startCriuInNetns, type PreparedNetwork } from './prepared-network.js';
import { TICKET_BYTES, openPageTunnel } from './page-relay.js';
import { describeHandshakeFailure, loadCredentials, refusedPeer, secureServerOptions, type Credentials, type TlsFiles } from './secure-transport.js';
import { ImageChain } from './image-chain.js';
import { newIncomingDir, removeAbandonedIncomingDirs } from './incoming-dirs.js';
import { PageStore } from './page-store.js';
import { containerLanding } from '../container/landing.js';
import type { Landing } from './landing.js';
import { silenceNetwork } from '../process/quiet-end.js';
import { injectHeld, receiveFrames, replayFrames, type HeldFrames } from './frame-replay.js';

export interface ReceiveOptions {
  host: string;
  port: number;
  /** The shared secret both agents know. */
  token: string;
  /** Mutual TLS with certificates (PEM files) instead of a key derived from the token (which still authenticates inside). */
  tls?: TlsFiles;
  /** Where incoming checkpoints are kept while restoring (default: the temp directory). */
  workDir?: string;
  /**
   * The bridge that a tree's own network namespace is plugged into here: each veth it had at
   * the source is re-created with its outer end on this bridge (needed for such trees).
   */
  bridge?: string;
  /** runc's state directory for containers that arrive (default /run/runc). */
  runcRoot?: string;
  /** Silence from a source after which its migration counts as failed (default 10 s). */
  linkTimeoutMs?: number;
  /** Stop after one migration (successful or not). */
  once?: boolean;
  /** Called with a line for every event: connections, refusals, restores. */
  log?: (line: string) => void;
}

export interface ReceivedMigration {
  from: string;
  mode: string;
  pid?: number;
  /** TCP frames sent to the tree while it was frozen at the source, injected once it ran here. */
  framesReplayed?: number;
  error?: FreezedryError;
}

export interface Receiver {
  address: { host: string; port: number };
  /** Settles when the receiver stops (after one migration with `once`). */
  closed: Promise<void>;
  migrations: ReceivedMigration[];
  close(): Promise<void>;
}

export async function receive(options: ReceiveOptions): Promise<Receiver> {
  if (!options.token) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'receive needs a token (--token or FREEZEDRY_TOKEN)');
  const log = options.log ?? (() => {});
  const credentials = loadCredentials(options.token, options.tls);
  // What agents killed mid-migration left (up to a tree's size each), before more arrives.
  for (const dir of await removeAbandonedIncomingDirs(options.workDir)) log(`removed ${dir}, left by an agent that has ended`);
  const migrations: ReceivedMigration[] = [];
  let server!: Server;
  const closed = new Promise<void>((resolve) => {
    // Only a source that knows the token completes the handshake (secure-transport.ts).
    server = tlsModule().createServer(secureServerOptions(credentials), (socket) => {
      const refusal = refusedPeer(socket, credentials);
      if (refusal) {
        refuse(socket, refusal);
        return;
      }
      void handle(socket, options, credentials, log).then((migration) => {
        migrations.push(migration);
        if (options.once) server.close();
      });
    });
    // A refused peer counts as a migration that failed (`once` stops after it too).
    const refuse = (socket: Socket, reason: string, cause?: Error) => {
      const from = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'a peer that left';
      log(`refused ${from}: ${reason}`);
      migrations.push({ from, mode: '?', error: new FreezedryError(ErrorCode.AUTH_FAILED, `${from}: ${reason}`, { cause }) });
      if (!socket.destroyed) {
        const channel = new MessageChannel(socket);
        channel.send({ type: 'refused', code: ErrorCode.AUTH_FAILED, message: `the destination refused this agent: ${reason}` });
        channel.close();
      }
      if (options.once) server.close();
    };
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: Socket) => refuse(socket, describeHandshakeFailure(error), error));
    server.on('close', resolve);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address() as { address: string; port: number };
  log(`listening on ${address.address}:${address.port}`);
  return {
    address: { host: address.address, port: address.port },
    closed,
    migrations,
    close: async () => {
      server.close();
      await closed;
    },
  };
}

async function handle(socket: Socket, options: ReceiveOptions, credentials: Credentials, log: (line: string) => void): Promise<ReceivedMigration> {
  const from = `${socket.remoteAddress}:${socket.remotePort}`;
  const channel = new MessageChannel(socket, { linkTimeoutMs: options.linkTimeoutMs });
  const migration: ReceivedMigration = { from, mode: '?' };
  let work: string | undefined;
  let container: Landing | undefined;
  let prepared: PreparedNetwork | undefined;
  // What the mode's receiver opened (a page store, a tunnel), closed whatever the outcome.
  const cleanup: (() => void)[] = [];
  try {
    try {
      await authenticateSource(channel, options.token);
    } catch (error) {
      log(`refused ${from}: ${(error as Error).message}`);
      throw error;
    }
    const hello = await channel.next('hello');
    migration.mode = String(hello.mode);
    const { version: criu, features } = await versionAndFeatures();
    container = hello.container ? await containerLanding(hello.container, options) : undefined;
    // Every mode but stop-copy restores lazily here: that needs userfaultfd and CRIU's lazy pages.
    const lazyPages = features?.lazyPages === true;
    const gap = compatibilityGaps(hello.source as SourceHost, criu);
    const network = hello.network as { veths?: string[]; facts?: unknown } | undefined;
    const veths = (network?.veths ?? []).filter((name) => /^[\w.-]{1,15}$/.test(name));
    const reasons = [
      gap.arch,
      gap.missingCpuFlags.length ? `this CPU lacks ${gap.missingCpuFlags.join(', ')}` : undefined,
      gap.criu,
      (hello.criuOptions as CriuOptions | undefined)?.networkLock === 'nftables' && !canLockWithNftables(criu.path)
        ? `the source locks the network with nftables, and this CRIU (${criu.path}) was built without libnftables`
        : undefined,
      hello.mode !== 'stop-copy' && hello.mode !== 'auto' && !(hello.mode === 'pre-copy' && hello.tracking === 'soft-dirty') && !lazyPages
        ? `${String(hello.mode)} needs lazy restore, which this host cannot do (userfaultfd, CRIU's lazy pages: see 'freezedry check')`
        : undefined,
      veths.length > 0 && !options.bridge ? `the tree's network namespace has veth ${veths.join(', ')}: start receive with a bridge to plug it into (--bridge)` : undefined,
      ...(container?.refusals ?? []),
    ].filter(Boolean);
    if (reasons.length > 0) {
      channel.send({ type: 'incompatible', code: ErrorCode.INCOMPATIBLE_HOST, message: reasons.join('; ') });
      throw new FreezedryError(ErrorCode.INCOMPATIBLE_HOST, `refused ${from}: ${reasons.join('; ')}`);
    }
    if (veths.length > 0 && options.bridge) {
      pinBridgeAddress(options.bridge); // a new port must not change this host's MAC
    }
    work = await newIncomingDir(options.workDir);
    // A tree's plain namespace is made now, before anything freezes (prepared-network.ts).
    prepared = !container && veths.length > 0 && options.bridge ? await prepareNetwork(network?.facts, work, options.bridge, (line) => log(`${from}: ${line}`)) : undefined;
    channel.send({ type: 'welcome', criuVersion: criu.text, lazyPages, network: prepared ? 'prepared' : undefined });
    prepareCodecs(); // the restore decodes images and talks to CRIU while the source is frozen
    log(`${from}: ${migration.mode} migration authenticated${prepared ? ', its network namespace made here' : ''}`);
    const outerVeths = prepared?.built.outerEnds ?? new Map(veths.map((name) => [name, `fz${randomBytes(4).toString('hex')}`]));
    const criuOptions: CriuOptions = {
      ...migrationCriuOptions(hello.criuOptions),
      // veth[inside]:outside@bridge: CRIU re-creates the pair and puts the outer end on the bridge.
      external: prepared ? undefined : [...outerVeths].map(([inside, outside]) => `veth[${inside}]:${outside}@${options.bridge}`),
    };
    const landing = container ?? processLanding(criuOptions, outerVeths, prepared);
    let mode = String(hello.mode);
    if (mode === 'auto') {
      // The source measures the link, then says which mode it chose.
      const probe = await channel.next('probe');
      await channel.receiveBytes(probe.size);
      channel.send({ type: 'probe-ok' });
      mode = String((await channel.next('mode')).mode);
      migration.mode = mode;
    }

    const reception: Reception = {
      channel,
      landing,
      work,
      from,
      sourceAddress: socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
      options,
      credentials,
      migration,
      replay: hello.replayFrames === true,
      log,
      cleanup,
    };
    if (mode === 'stop-copy') await receiveStopCopy(reception);
    else if (mode === 'pre-copy' && hello.tracking === 'soft-dirty') await receivePreDumps(reception);
    else if (mode === 'post-copy' || mode === 'pre-copy' || mode === 'hybrid') await receiveLazily(reception);
    else throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `unknown mode '${mode}'`);
  } catch (error) {
    migration.error = isFreezedryError(error) ? error : new FreezedryError(ErrorCode.MIGRATION_FAILED, (error as Error).message, { cause: error });
    log(`${from}: failed: ${migration.error.code}: ${migration.error.message}`);
    try {
      channel.send({ type: 'failed', code: migration.error.code, message: migration.error.message });
    } catch {
      // the connection is gone
    }
  } finally {
    for (const close of cleanup) close();
    if (migration.error) await container?.discard?.().catch(() => {});
    channel.close();
    await prepared?.release().catch(() => {}); // a restored tree keeps its namespace; a failed one's goes
    if (work) await rm(work, { recursive: true, force: true });
  }
  return migration;
}

/**
 * `outerVeths`: the name here of each veth's outer end, by its name inside, as CRIU re-creates
 * them, or as they are in the `prepared` namespace, which CRIU restores the tree into (its
 * veths join the bridge once the tree runs).
 */
function processLanding(criuOptions: CriuOptions, outerVeths: Map<string, string>, prepared: PreparedNetwork | undefined): Landing {
  const criuHere = () => (prepared ? startCriuInNetns(locateCriu(criuOptions.criu), prepared.file) : startCriu(locateCriu(criuOptions.criu)));
  // A tree that cannot be reached here must not run on beside the source's, which resumes.
  const plugged = async <T extends { pid: number }>(restored: T): Promise<T> => {
    await prepared?.built.plug().catch((error: unknown) => {
      signalEach(processTree(restored.pid).reverse(), 'SIGKILL');
      throw error;
    });
    return restored;
  };
  // CRIU for the lazy restore, started while pages still arrive: its spawn (7 ms here) is then
  // not part of the freeze.
  let warm: StartedCriu | undefined;
  return {
    restoreWhole: async (where, signal) => plugged(await restoreOnStartedCriu({ ...where, ...criuOptions, onNotification: abortIfAgentDies, signal }, criuHere())),
    prepareLazy: () => {
      warm ??= criuHere();
      return () => {
        void warm?.session.close();
        warm = undefined;
      };
    },
    restoreLazy: async (top, remote, signal) => {
      const options = { ...criuOptions, onNotification: abortIfAgentDies, signal, imagesDir: path.join(top, 'checkpoint'), lazy: true, ...remote };
      const criu = warm ?? criuHere();
      warm = undefined;
      const restored = await plugged(await restoreOnStartedCriu(options, criu));
      return { ...restored, fill: restored.lazy?.fill };
    },
    end: async (pid) => signalEach(processTree(pid).reverse(), 'SIGKILL'),
    outerVeths: () => outerVeths,
  };
}

/** A migration being received: what each mode's receiver needs. */
interface Reception {
  channel: MessageChannel;
  landing: Landing;
  work: string;
  from: string;
  /** The source's address (its page relay listens there). */
  sourceAddress: string;
  options: ReceiveOptions;
  /** The transport's credentials, read once by receive() (the page tunnel needs them too). */
  credentials: Credentials;
  migration: ReceivedMigration;
  /** The source sends a 'frames' message after 'restored' (frame-replay.ts). */
  replay: boolean;
  log: (line: string) => void;
  /** What to close when the migration ends, whatever its outcome. */
  cleanup: (() => void)[];
}

/** The whole checkpoint is here before the restore: the source ends its original on 'restored'. */
async function restoreWhole({ channel, landing, from, migration, replay, log }: Reception, where: { archive: string } | { imagesDir: string }): Promise<void> {
  log(`${from}: restoring`);
  const restored = await landing.restoreWhole(where, sourceGone(channel));
  migration.pid = restored.pid;
  channel.send({ type: 'restored', pid: restored.pid, durationMs: restored.durationMs });
  log(`${from}: restored as pid ${restored.pid}`);
  if (replay) await injectHeldFrames(channel, landing, migration, (line) => log(`${from}: ${line}`));
  await channel.next('done');
}

/** stop-copy: one archive, then a restore. */
async function receiveStopCopy(reception: Reception): Promise<void> {
  const offer = await reception.channel.next('archive');
  const file = path.join(reception.work, 'checkpoint.tar.zst');
  await reception.channel.receiveFile(offer.size, file);
  await restoreWhole(reception, { archive: file });
}

/** pre-copy with soft-dirty: CRIU's pre-dumps, then its final dump, each a directory whose parent is the one before. */
async function receivePreDumps(reception: Reception): Promise<void> {
  const { channel } = reception;
  const chain = new ImageChain(path.join(reception.work, 'pre-dumps'));
  for (;;) {
    const message = await channel.next('image-file', 'round-end', 'dumped');
    if (message.type === 'dumped') break;
    if (message.type === 'round-end') channel.send({ type: 'round-ok', round: message.round });
    else await chain.receive(channel, message);
  }
  if (!chain.last?.endsWith('final')) throw new FreezedryError(ErrorCode.MIGRATION_FAILED, 'the source froze the tree but sent no final images');
  await restoreWhole(reception, { imagesDir: chain.last });
}

/**
 * post-copy, pre-copy and hybrid: pre-copy rounds (none in post-copy), the images of the frozen
 * tree, then a lazy restore that pulls what is not here from the source's page server.
 */
async function receiveLazily({ channel, landing, work, from, sourceAddress, options, credentials, migration, replay, log, cleanup }: Reception): Promise<void> {
  const store = new PageStore(work);
  cleanup.push(() => store.close());
  const release = landing.prepareLazy?.();
  if (release) cleanup.push(release);
  // As in a container checkpoint: images in checkpoint/, a container's files beside.
  const top = path.join(work, 'lazy');
  const imagesDir = path.join(top, 'checkpoint');
  const early: HeldFrames = [];
  let offer = await receivePages(channel, store, early);
  if (offer.type === 'container-files') {
    if (!landing.receiveFiles) throw new FreezedryError(ErrorCode.MIGRATION_FAILED, 'container files from the source of a process tree');
    await landing.receiveFiles(channel, offer, top);
    offer = await channel.next('images');
  }
  await receiveImages(channel, offer, imagesDir);
  channel.send({ type: 'images-ok' });
  const serve = await channel.next('serve');
  let routed: { localPages: number; remotePages: number } | undefined;
  const preCopied = store.bytes > 0 ? { file: store.file, route: (plan: LazyPlan) => (routed = store.route(plan)) } : undefined;
  log(`${from}: restoring`);
  // The native page source reaches the source's relay through a TLS tunnel on our loopback.
  const tunnel = await openPageTunnel({
    host: sourceAddress,
    port: validPort(serve.port),
    credentials,
    timeoutMs: options.linkTimeoutMs ?? LINK_TIMEOUT_MS,
    log: (line) => log(`${from}: ${line}`),
  });
  cleanup.push(() => tunnel.close());
  const pageServer = { address: '127.0.0.1', port: tunnel.port, ticket: pageTicket(serve.ticket) };
  const restored = await landing.restoreLazy(top, { pageServer, preCopied }, sourceGone(channel));
  migration.pid = restored.pid;
  // What clients sent it while it was frozen: those held until its images left go in at once,
  // the rest while the memory comes in (a lost source is handled by the fill's race below).
  const replaying = replay ? injectHeldFrames(channel, landing, migration, (line) => log(`${from}: ${line}`), early) : undefined;
  channel.send({ type: 'restored', pid: restored.pid, durationMs: restored.durationMs });
  log(`${from}: running as pid ${restored.pid}, ${routed ? `${routed.localPages} pages here, pulling ${routed.remotePages}` : 'pulling its memory'}`);
  // The tree cannot outlive the link to the source while memory may still be missing: the
  // source resumes its original when it loses the link, and this side gives up first.
  channel.linkTimeoutMs = (options.linkTimeoutMs ?? LINK_TIMEOUT_MS) / 2;
  const lost = new Promise<never>((_, reject) => channel.onLost(reject));
  lost.catch(() => {});
  const fill = await Promise.race([restored.fill, lost]).catch(async (error: unknown) => {
    silenceNetwork(restored.pid); // its connections are the source's again
    await landing.end(restored.pid);
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `lost the source while pulling memory (${(error as Error).message}); the tree here was ended`, { cause: error });
  });
  channel.send({ type: 'filled', pages: fill?.pagesCopied, pulled: routed ? routed.remotePages : fill?.pagesCopied, faults: fill?.faults });
  log(`${from}: memory complete (${fill?.pagesCopied} pages)`);
  // The tree is whole here; the source ends its original on 'filled' and says so.
  await replaying; // its message comes first, and the channel is read by one at a time
  await channel.next('done').catch((error: unknown) => log(`${from}: no goodbye from the source (${(error as Error).message}); the tree runs here`));
}

/**
 * Stores pre-copy rounds' pages until the images of the frozen tree arrive; returns their offer.
 * The frames held at the source so far, which may come with them, go in `early`.
 */
async function receivePages(channel: MessageChannel, store: PageStore, early: HeldFrames): Promise<Message> {
  let earlyFrames = false;
  for (;;) {
    const message = await channel.next('pages', 'stale', 'round-end', 'early-frames', 'images', 'container-files');
    if (message.type === 'images' || message.type === 'container-files') return message;
    if (message.type === 'early-frames') {
      if (earlyFrames) throw new FreezedryError(ErrorCode.MIGRATION_FAILED, "a second 'early-frames' message from the source");
      earlyFrames = true;
      const frames = await receiveFrames(channel, message).catch((error: unknown) => {
        throw new FreezedryError(ErrorCode.MIGRATION_FAILED, (error as Error).message, { cause: error });
      });
      early.push(...frames);
    } else if (message.type === 'round-end') {
      channel.send({ type: 'round-ok', round: message.round });
    } else if (message.type === 'stale') {
      store.drop(Number(message.pid), validPageRanges(message.ranges));
    } else {
      const frame = await channel.receiveBytes(message.size);
      const data = await native().decompress(frame);
      if (data.length !== Number(message.raw)) {
        throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `pages message of ${data.length} bytes, announced ${String(message.raw)}`);
      }
      store.write(Number(message.pid), validPageRanges(message.ranges), data);
    }
  }
}

function validPageRanges(flat: unknown): Range[] {
  if (!Array.isArray(flat) || flat.length % 2 !== 0 || !flat.every((n) => Number.isSafeInteger(n) && n >= 0 && n % PAGE_SIZE === 0)) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, 'malformed page ranges from the source');
  }
  return fromFlat(flat as number[]);
}

/**
 * A restore that asks CRIU for its notifications: should this agent die mid-restore, CRIU's next
 * notification fails and CRIU ends what it restored, so the tree never runs here with nobody to
 * tell the source (which then resumes its original).
 */
const abortIfAgentDies = (): void => {};

/**
 * Aborts a restore (at CRIU's next notification, which ends what it restored) once the source
 * is gone: it resumes its original then, so a restore finishing here later would be a second copy.
 */
function sourceGone(channel: MessageChannel): AbortSignal {
  const controller = new AbortController();
  channel.onLost((error) => controller.abort(error));
  return controller.signal;
}

function validPort(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new FreezedryError(ErrorCode.MIGRATION_PROTOCOL, `the source named no valid page-relay port (${JSON.stringify(value)})`);
  }
  return value;
}

/** The ticket that opens the source's page relay (sent over the authenticated connection). */
function pageTicket(value: unknown): Buffer {
  const ticket = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (ticket.length !== TICKET_BYTES) throw new FreezedryError(ErrorCode.MIGRATION_FAILED, 'the source sent no valid page-server ticket');
  return ticket;
}

/**
 * Injects the frames the source held while the tree was frozen: `early` (sent with the images)
 * before its first wait, then its 'frames' message; a failure costs only them.
 */
async function injectHeldFrames(channel: MessageChannel, landing: Landing, migration: ReceivedMigration, log: (line: string) => void, early: HeldFrames = []): Promise<void> {
  const ran = performance.now();
  const outerVeths = landing.outerVeths?.() ?? new Map<string, string>();
  migration.framesReplayed = injectHeld(early, outerVeths, log);
  if (migration.framesReplayed > 0) log(`replayed ${migration.framesReplayed} TCP frames sent to the tree while it was frozen as soon as it ran (held until its images left)`);
  try {
    const later = await replayFrames(channel, outerVeths, log);
    migration.framesReplayed += later;
    if (later > 0) log(`replayed ${later} TCP frames sent to the tree while it was frozen, ${(performance.now() - ran).toFixed(0)} ms after it ran`);
  } catch (error) {
    log(`no frames to replay: ${(error as Error).message}`);
  }
}
