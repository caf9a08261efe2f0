// Messages between the migration agents over one TCP connection: each is a 4-byte big-endian
// length and a JSON document; a file travels as a JSON header ({ size }) and that many raw bytes.
// Each side says 'keepalive' every second it has nothing else to send, so a silence longer
// than the link timeout means the link or the peer is gone (TCP alone can wait for minutes).
import { createReadStream, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { ErrorCode, FreezedryError, isFreezedryError, type ErrorCodeValue } from '../errors.js';

export type Message = { type: string } & Record<string, unknown>;

const MAX_MESSAGE = 16 << 20;
/** The most bytes one message may bring into memory (page batches are 8 MiB, image bundles far less). */
const MAX_BYTES = 256 << 20;
/** The most one streamed file may hold (an archive, a rootfs diff): the disk bounds it before this. */
const MAX_FILE = 2 ** 40;
/** A streamed file this small goes through memory at once. */
const SMALL_FILE = 1 << 20;

/**
 * Codes a peer's failure keeps on this side: those that say how the migration itself went.
 * Any other (its disk, its CRIU) becomes ERR_MIGRATION_FAILED with the peer's code in
 * `peerCode`: a peer must not pick this process's error code and exit status.
 */
const PEER_CODES: string[] = [ErrorCode.INCOMPATIBLE_HOST, ErrorCode.AUTH_FAILED, ErrorCode.MIGRATION_FAILED];
const KEEPALIVE_MS = 1000;
/** How long a side that failed waits for the peer's own failure report, which may be on its way. */
const PEER_FAILURE_GRACE_MS = 2000;
/** Silence after which the peer counts as gone (default). */
export const LINK_TIMEOUT_MS = 10_000;

export class MessageChannel {
  readonly socket: Socket;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: (() => void) | undefined;
  private ended: Error | undefined;
  bytesSent = 0;
  bytesReceived = 0;
  /** Silence from the peer after which the connection counts as lost; may change per phase. */
  linkTimeoutMs: number;
  private lastHeard = performance.now();
  private streaming = false;
  /** The type of the last message taken: what a declared size belongs to, in its error. */
  private lastType = '';
  private readonly ticker: NodeJS.Timeout;
  private readonly lostListeners: ((error: Error) => void)[] = [];

  constructor(socket: Socket, options: { linkTimeoutMs?: number } = {}) {
    this.socket = socket;
    this.linkTimeoutMs = options.linkTimeoutMs ?? LINK_TIMEOUT_MS;
    socket.setNoDelay(true);
    this.ticker = setInterval(() => {
      if (performance.now() - this.lastHeard > this.linkTimeoutMs) {
        socket.destroy(new Error(`no word from the peer for ${(this.linkTimeoutMs / 1000).toFixed(1)} s (link or peer lost)`));
      } else if (!this.streaming && !socket.destroyed) {
        this.send({ type: 'keepalive' });
      }
    }, Math.min(KEEPALIVE_MS, this.linkTimeoutMs / 4));
    this.ticker.unref();
    socket.on('data', (chunk: Buffer) => {
      this.lastHeard = performance.now();
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.bytesReceived += chunk.length;
      if (this.buffered > 8 << 20) socket.pause();
      this.wake();
    });
    const end = (error?: Error) => {
      clearInterval(this.ticker);
      if (!this.ended) {
        this.ended = error ?? new Error('the peer closed the connection');
        for (const listener of this.lostListeners.splice(0)) listener(this.ended);
      }
      this.wake();
    };
    socket.on('end', () => end());
    socket.on('close', () => end());
    socket.on('error', (error) => end(error));
  }

  send(message: Message): void {
    const body = Buffer.from(JSON.stringify(message));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    this.socket.write(header);
    this.socket.write(body);
    this.bytesSent += 4 + body.length;
  }

  /** Sends a header message with the file's size, then the file's bytes. */
  async sendFile(message: Message, file: string, size: number): Promise<void> {
    if (this.ended || this.socket.destroyed) {
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `connection lost before sending the checkpoint: ${this.ended?.message ?? 'closed'}`);
    }
    this.send({ ...message, size });
    if (size <= SMALL_FILE) {
      // At once, as its peer takes it (see receiveFile).
      const bytes = readFileSync(file);
      if (bytes.length !== size) throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `${file} changed while it was sent`);
      this.socket.write(bytes);
      this.bytesSent += size;
      return;
    }
    this.streaming = true; // no keepalive may cut into the file's bytes
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(file);
      // A peer that goes away unpipes the stream, which then never ends: fail instead.
      const lost = () => {
        stream.destroy();
        reject(new FreezedryError(ErrorCode.MIGRATION_FAILED, 'connection lost while sending the checkpoint'));
      };
      this.socket.once('close', lost);
      stream.on('error', (error) => {
        this.socket.off('close', lost);
        reject(error);
      });
      stream.on('end', () => {
        this.socket.off('close', lost);
        resolve();
      });
      stream.pipe(this.socket, { end: false });
    }).finally(() => (this.streaming = false));
    this.bytesSent += size;
  }

  sendBytes(message: Message, bytes: Buffer): void {
    this.send({ ...message, size: bytes.length });
    this.socket.write(bytes);
    this.bytesSent += bytes.length;
  }

  /** Resolves once the socket's send buffer has room again (fails if the connection goes). */
  async drained(): Promise<void> {
    if (!this.socket.writableNeedDrain) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.socket.off('close', lost);
        resolve();
      };
      const lost = () => {
        this.socket.off('drain', done);
        reject(new FreezedryError(ErrorCode.MIGRATION_FAILED, `connection lost while sending: ${this.ended?.message ?? 'closed'}`));
      };
      this.socket.once('drain', done);
      this.socket.once('close', lost);
    });
  }

  /** The next message; `expect` names the types that may come (anything else is a protocol error). */
  async next(...expect: string[]): Promise<Message> {
    let message: Message;
    do {
      const length = (await this.take(4)).readUInt32BE(0);
      if (length > MAX_MESSAGE) throw protocolError(`oversized message (${length} bytes) from the peer`);
      message = parseMessage(await this.take(length));
    } while (message.type === 'keepalive');
    this.lastType = message.type;
    if (expect.length > 0 && !expect.includes(message.type)) {
      if (message.type === 'failed' || message.type === 'refused' || message.type === 'incompatible') throw peerError(message);
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `unexpected '${message.type}' from the peer (wanted ${expect.join(' or ')})`);
    }
    return message;
  }

  /** The raw bytes that follow a header whose `size` is checked first (at most MAX_BYTES). */
  async receiveBytes(size: unknown): Promise<Buffer> {
    return this.take(checkedSize(size, MAX_BYTES, this.lastType));
  }

  /** Writes the raw bytes that follow a file header into a file (its `size` checked first). */
  async receiveFile(declared: unknown, file: string): Promise<void> {
    const size = checkedSize(declared, MAX_FILE, this.lastType);
    // A small one at once: a file stream's open, writes and close each wait their turn in
    // libuv's pool (~10 ms in a migration's freeze, behind the page store's writes).
    if (size <= SMALL_FILE) {
      writeFileSync(file, await this.take(size), { mode: 0o600 });
      return;
    }
    const out = createWriteStream(file, { mode: 0o600 });
    let left = size;
    try {
      while (left > 0) {
        const chunk = await this.take(Math.min(left, 4 << 20), true);
        left -= chunk.length;
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
    } finally {
      await new Promise<void>((resolve) => out.end(() => resolve()));
    }
  }

  /**
   * After a failure on this side: the reason the peer gave, if its 'failed' message is among
   * what already arrived or arrives within `graceMs` (a peer that fails closes the connection,
   * and that can surface here first as a reset while sending). A peer that did not fail goes
   * on waiting for us, saying keepalive: that is no answer, and the wait ends.
   */
  async peerFailure(graceMs = PEER_FAILURE_GRACE_MS): Promise<FreezedryError | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), graceMs)));
    try {
      for (;;) {
        const next = this.next();
        next.catch(() => {}); // a wait the grace outlived fails when the channel closes
        const message = await Promise.race([next, silence]);
        if (!message) return undefined;
        if (message.type === 'failed') return peerError(message);
      }
    } catch {
      return undefined; // nothing more arrived
    } finally {
      clearTimeout(timer);
    }
  }

  /** Calls `listener` once if the connection is lost or closed (at once if it already is). */
  onLost(listener: (error: Error) => void): void {
    if (this.ended) listener(this.ended);
    else this.lostListeners.push(listener);
  }

  /**
   * Ends the connection: every wait here fails at once, and what was sent is still flushed
   * (a TLS socket destroyed right after a write drops what it had not yet encrypted and sent).
   */
  close(): void {
    clearInterval(this.ticker);
    if (!this.ended) {
      this.ended = new Error('the connection was closed here');
      for (const listener of this.lostListeners.splice(0)) listener(this.ended);
      this.wake();
    }
    if (this.socket.destroyed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Exactly `size` bytes (or, with partial, between 1 and `size`). */
  private async take(size: number, partial = false): Promise<Buffer> {
    while (this.buffered < (partial ? 1 : size)) {
      if (this.ended) {
        throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `connection lost: ${this.ended.message}`, { cause: this.ended });
      }
      // Paused at the buffering limit, a socket must still deliver what a larger read awaits.
      this.socket.resume();
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const count = Math.min(size, all.length);
    const out = all.subarray(0, count);
    const rest = all.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    if (this.buffered < 8 << 20) this.socket.resume();
    return out;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

function protocolError(message: string): FreezedryError {
  return new FreezedryError(ErrorCode.MIGRATION_PROTOCOL, message);
}

/** A message: a JSON object with a string type (anything else is the peer's protocol error). */
function parseMessage(bytes: Buffer): Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw protocolError('a message from the peer is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') {
    throw protocolError('a message from the peer has no type');
  }
  return parsed as Message;
}

/** A size the peer declared after a message of type `what`: a whole number of bytes, at most `limit`. */
function checkedSize(size: unknown, limit: number, what: string): number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > limit) {
    throw protocolError(`the peer declared ${JSON.stringify(size) ?? 'no'} bytes to follow its '${what}' message (at most ${limit} here)`);
  }
  return size;
}

/** Whether `error` is the failure the peer reported (its 'failed', 'refused' or 'incompatible' message). */
export function isPeerReport(error: unknown): error is FreezedryError {
  return isFreezedryError(error) && 'peerCode' in error.details;
}

/** The failure a peer reports, under our code only where it says how the migration went. */
function peerError(message: Message): FreezedryError {
  const peerCode = typeof message.code === 'string' ? message.code : undefined;
  const said = String(message.message ?? message.type).slice(0, 2000);
  const code = peerCode && PEER_CODES.includes(peerCode) ? (peerCode as ErrorCodeValue) : ErrorCode.MIGRATION_FAILED;
  return new FreezedryError(code, `the peer reports${peerCode && code !== peerCode ? ` ${peerCode}` : ''}: ${said}`, { peerCode });
}
