// Requests that reach a tree while it is frozen are dropped inside its network namespace (CRIU's
// network lock), and a client sends them again only when its retransmission timer fires: 200 ms
// after the first send, then 400 ms later, and so on. Its wait then often runs hundreds of ms
// past the moment the tree runs on the destination. So the source keeps the TCP frames its host
// sends into the tree's veths while the tree is frozen (a packet socket on each veth's outer
// end), and the destination injects them into the restored tree's veths as soon as it runs:
// they are answered at once, and the client's own retransmissions arrive as duplicates, which
// TCP drops. A frame the tree had taken before the lock is such a duplicate too. Frames of other
// protocols are not kept. A container's veths leave their bridges while it is frozen (instead
// of CRIU's lock): its frames are kept on the bridge, by its address. Only trees with their own
// network namespace (veths) have this; any failure here costs the replay, never the migration.
import { native } from '../native/binding.js';
import { links, MAC_ADDRESS, type Link } from './bridge-address.js';
import type { Message, MessageChannel } from './message-channel.js';

/** Kernel buffer per veth for the frames of one freeze (its accounting, about 1 KiB per small frame). */
const CAPTURE_BUFFER_BYTES = 4 << 20;
/** What the destination accepts in all: more than any capture above keeps. */
const MAX_REPLAY_BYTES = 16 << 20;
const FRAME_LENGTH_BYTES = 4;
const MIN_FRAME = 14 + 20 + 20;
const MAX_FRAME = 65536 + 14;

/** The frames the source kept of one veth, by the name of its end inside the tree. */
interface VethFrames {
  veth: string;
  size: number;
  frames: number;
}

export interface FrameHold {
  /**
   * Sends what it kept so far (an 'early-frames' message, possibly empty) and goes on: sent with
   * the images, these are injected the moment the tree runs there. Never throws.
   */
  sendSoFar(channel: MessageChannel): void;
  /** Ends the capture and sends what it kept since (a 'frames' message, possibly empty); returns how many frames in all. Never throws. */
  send(channel: MessageChannel): number;
  /** Ends the capture, if send() has not: a failed migration closes its sockets at once, not when collected. */
  discard(): void;
}

/** Where one veth's frames are kept: what an interface sends, or what it receives for `to`. */
export interface HoldPoint {
  ifindex: number;
  to?: Buffer;
}

/**
 * Where the frames for each of a tree's veths (by its name inside) are kept while it is frozen:
 * at the veth's outer end, or, when its veths leave their bridges (`unplugged`: a container),
 * on the bridge, for the veth's address.
 */
export function holdPoints(veths: Link[], outer: Map<string, Link>, unplugged: boolean): Map<string, HoldPoint> {
  const points = new Map<string, HoldPoint>();
  const bridges = unplugged && outer.size > 0 ? links(['type', 'bridge']) : [];
  for (const veth of veths) {
    const end = outer.get(veth.ifname);
    if (!end) continue;
    if (!unplugged) {
      points.set(veth.ifname, { ifindex: end.ifindex });
      continue;
    }
    const bridge = bridges.find((b) => b.ifname === end.master);
    const mac = veth.address ?? '';
    if (bridge && MAC_ADDRESS.test(mac)) {
      points.set(veth.ifname, { ifindex: bridge.ifindex, to: Buffer.from(mac.split(':').map((byte) => Number.parseInt(byte, 16))) });
    }
  }
  return points;
}

/**
 * Starts keeping the frames sent into the tree's veths (none to keep: undefined). A capture that
 * cannot start still sends its empty message, which the destination waits for.
 */
export function holdFrames(plan: Map<string, HoldPoint>, log: (line: string) => void): FrameHold | undefined {
  const names = [...plan.keys()];
  if (names.length === 0) return undefined;
  const lost = (error: unknown) => log(`frames sent to the tree while frozen will not be replayed: ${(error as Error).message}`);
  let capture: { take(goOn?: boolean): Buffer[] } | undefined;
  try {
    capture = new (native().FrameCapture)(
      names.map((name) => plan.get(name) as HoldPoint),
      CAPTURE_BUFFER_BYTES,
    );
  } catch (error) {
    lost(error);
  }
  /** What the capture kept; it ends here (take() closes its sockets) unless `goOn`. */
  const take = (goOn: boolean): Buffer[] => {
    const taking = capture;
    if (!goOn) capture = undefined;
    try {
      return taking?.take(goOn) ?? [];
    } catch (error) {
      lost(error);
      capture = undefined;
      return [];
    }
  };
  let sent = 0;
  /** Sends a batch as a message of this type; how many frames it held. */
  const sendAs = (channel: MessageChannel, type: 'early-frames' | 'frames', batches: Buffer[]): number => {
    const veths: VethFrames[] = batches.map((bytes, i) => ({ veth: (names[i] as string).replace(/@.*$/, ''), size: bytes.length, frames: countFrames(bytes) }));
    const bytes = Buffer.concat(batches);
    try {
      channel.sendBytes({ type, veths, size: bytes.length }, bytes);
    } catch (error) {
      lost(error); // a closed channel: the migration's own next step reports it
      return 0;
    }
    return veths.reduce((sum, v) => sum + v.frames, 0);
  };
  return {
    discard: () => void take(false),
    sendSoFar: (channel) => {
      sent += sendAs(channel, 'early-frames', take(true));
    },
    send: (channel) => sent + sendAs(channel, 'frames', take(false)),
  };
}

/** One veth's frames, by its name inside the tree. */
export type HeldFrames = { veth: string; bytes: Buffer }[];

/** The destination's side: the frames of a 'frames' or 'early-frames' message, checked (throws if malformed). */
export async function receiveFrames(channel: MessageChannel, message: Message): Promise<HeldFrames> {
  const size = Number(message.size);
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_REPLAY_BYTES) throw new Error(`malformed '${message.type}' message: ${String(message.size)} bytes`);
  return checkedParts(message.veths, await channel.receiveBytes(size));
}

/**
 * Injects each veth's frames into the restored tree through that veth's outer end here
 * (`outerVeths`: by its name inside, as the destination made them). Returns how many went in;
 * the tree runs already, so frames that cannot go in are only logged.
 */
export function injectHeld(frames: HeldFrames, outerVeths: Map<string, string>, log: (line: string) => void): number {
  let injected = 0;
  try {
    for (const part of frames) {
      const end = outerVeths.get(part.veth);
      if (end && part.bytes.length > 0) injected += native().injectFrames(end, part.bytes).sent;
    }
  } catch (error) {
    log(`could not replay the frames sent to the tree while it was frozen: ${(error as Error).message}`);
  }
  return injected;
}

/** Reads the source's 'frames' message and injects them (injectHeld). */
export async function replayFrames(channel: MessageChannel, outerVeths: Map<string, string>, log: (line: string) => void): Promise<number> {
  let frames: HeldFrames = [];
  try {
    frames = await receiveFrames(channel, await channel.next('frames'));
  } catch (error) {
    log(`could not replay the frames sent to the tree while it was frozen: ${(error as Error).message}`);
  }
  return injectHeld(frames, outerVeths, log);
}

/** The source's batches, each checked to be whole frames of sane sizes within the bytes declared; throws if not. */
export function checkedParts(declared: unknown, bytes: Buffer): { veth: string; bytes: Buffer }[] {
  const fail = (why: string): never => {
    throw new Error(`malformed 'frames' message: ${why}`);
  };
  if (bytes.length > MAX_REPLAY_BYTES) fail(`${bytes.length} bytes, at most ${MAX_REPLAY_BYTES}`);
  if (!Array.isArray(declared) || declared.length > 64) fail('no list of veths');
  const parts: { veth: string; bytes: Buffer }[] = [];
  let at = 0;
  for (const entry of declared as Partial<VethFrames>[]) {
    const { veth, size } = entry ?? {};
    if (typeof veth !== 'string' || !/^[\w.-]{1,15}$/.test(veth)) fail('a veth without a valid name');
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || at + size > bytes.length) fail(`a size that runs past the ${bytes.length} bytes sent`);
    const part = bytes.subarray(at, at + (size as number));
    if (countFrames(part) < 0) fail(`frames of ${String(veth)} do not parse`);
    parts.push({ veth: veth as string, bytes: part });
    at += size as number;
  }
  if (at !== bytes.length) fail(`${bytes.length - at} bytes beyond the veths' frames`);
  return parts;
}

/** How many length-prefixed frames `batch` holds; -1 when it is not a whole number of sane ones. */
function countFrames(batch: Buffer): number {
  let frames = 0;
  for (let at = 0; at < batch.length; frames++) {
    if (batch.length - at < FRAME_LENGTH_BYTES) return -1;
    const length = batch.readUInt32LE(at);
    at += FRAME_LENGTH_BYTES;
    if (length < MIN_FRAME || length > MAX_FRAME || length > batch.length - at) return -1;
    at += length;
  }
  return frames;
}
