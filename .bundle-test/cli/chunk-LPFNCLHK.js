import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  DirtyTracker,
  batches,
  intersect,
  normalize,
  subtract,
  totalBytes,
  union
} from "./chunk-LO46G7W2.js";
import {
  checkpoint
} from "./chunk-LYAUOJZ5.js";
import {
  resumeTreeIfThisProcessDies
} from "./chunk-6SZ63I6Z.js";
import {
  migrationCriuOptions
} from "./chunk-OFDVBURY.js";
import {
  namespacePid,
  processTree,
  readStat,
  residentBytes,
  signalEach
} from "./chunk-MRR2X73E.js";
import {
  features,
  version
} from "./chunk-SREGTA7H.js";
import {
  canLockWithNftables
} from "./chunk-CJKMJKBO.js";
import {
  PAGE_SIZE,
  PageFlags,
  parsePagemap,
  parsePstree,
  warmUpImageDecoders
} from "./chunk-F3SPZOCF.js";
import {
  sourceHost
} from "./chunk-PTYGFORS.js";
import {
  native
} from "./chunk-GUIDA3SS.js";
import {
  ErrorCode,
  FreezedryError,
  ValidationError,
  isFreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/migrate/source.js
import { randomBytes as randomBytes3 } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path5 from "node:path";

// lib/migrate/authentication.js
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
function proof(token, role, nonce) {
  return createHmac("sha256", token).update(role).update(Buffer.from(nonce, "hex")).digest("hex");
}
function same(a, b) {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
async function authenticateSource(channel, token) {
  const nonce = randomBytes(32).toString("hex");
  channel.send({ type: "challenge", nonce });
  const answer = await channel.next("auth");
  if (!same(String(answer.proof), proof(token, "source", nonce))) {
    channel.send({ type: "refused", code: ErrorCode.AUTH_FAILED, message: "authentication failed" });
    throw new FreezedryError(ErrorCode.AUTH_FAILED, "the peer did not prove it knows the token");
  }
  channel.send({ type: "auth-ok", proof: proof(token, "destination", String(answer.nonce)) });
}
async function authenticateDestination(channel, token) {
  const challenge = await channel.next("challenge");
  const nonce = randomBytes(32).toString("hex");
  channel.send({ type: "auth", proof: proof(token, "source", String(challenge.nonce)), nonce });
  const reply = await channel.next("auth-ok");
  if (!same(String(reply.proof), proof(token, "destination", nonce))) {
    throw new FreezedryError(ErrorCode.AUTH_FAILED, "the destination did not prove it knows the token");
  }
}

// lib/migrate/bridge-address.js
import { execFileSync } from "node:child_process";
import { readlinkSync } from "node:fs";
function links(args, inside) {
  const argv = ["ip", "-j", "-d", "link", "show", ...args];
  const command = inside === void 0 ? argv : ["nsenter", `--net=${typeof inside === "number" ? `/proc/${inside}/ns/net` : inside}`, ...argv];
  return JSON.parse(execFileSync(command[0], command.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
}
function pinBridgeAddress(bridge) {
  const link = links(["dev", bridge]).find((l) => l.ifname === bridge);
  if (!link?.address || link.linkinfo?.info_kind !== "bridge") {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `${bridge} is not a bridge here`, { bridge });
  }
  try {
    execFileSync("ip", ["link", "set", "dev", bridge, "address", link.address], { stdio: "pipe" });
  } catch (cause) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `cannot pin the address of bridge ${bridge}: ${cause.message}`, { cause });
  }
}
function vethsOfTree(pid) {
  try {
    if (readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync("/proc/self/ns/net"))
      return [];
    return links(["type", "veth"], pid);
  } catch (cause) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `cannot list the network devices of pid ${pid}: ${cause.message}`, { cause });
  }
}
function bridgesOf(veths) {
  const outer = outerEnds(veths);
  return [...new Set(veths.flatMap((veth) => outer.get(veth.ifname)?.master ?? []))];
}
function outerEnds(veths) {
  if (veths.length === 0)
    return /* @__PURE__ */ new Map();
  const here = links([]);
  const ends = /* @__PURE__ */ new Map();
  for (const veth of veths) {
    const peer = here.find((l) => veth.link_index === l.ifindex && l.link_index === veth.ifindex);
    if (peer)
      ends.set(veth.ifname, peer);
  }
  return ends;
}

// lib/migrate/criu-rounds.js
import { readdir, stat } from "node:fs/promises";
import path from "node:path";

// lib/migrate/rounds.js
function roundReport(index, pages, wireBytes, started, sinceLast) {
  return {
    round: index,
    pages,
    wireBytes,
    durationMs: performance.now() - started,
    dirtyRateMBps: index === 0 ? 0 : pages * PAGE_SIZE / 1e6 / Math.max(sinceLast / 1e3, 1e-3)
  };
}

// lib/migrate/criu-rounds.js
var CriuPreDumps = class {
  pid;
  work;
  criuOptions;
  tracking = "soft-dirty";
  rounds = [];
  lastRoundAt = performance.now();
  /** `work`: a directory of the source's own, which keeps the chain until the migration ends. */
  constructor(pid, work, criuOptions) {
    this.pid = pid;
    this.work = work;
    this.criuOptions = criuOptions;
  }
  /** Pre-dumps what changed since the last round and sends it; waits until the destination has it. */
  async round(channel) {
    const index = this.rounds.length;
    const started = performance.now();
    const sinceLast = started - this.lastRoundAt;
    const dumped = await checkpoint(this.pid, {
      ...this.criuOptions,
      imagesDir: this.dir(`r${index}`),
      preDump: true,
      parentImages: index > 0 ? `../r${index - 1}` : void 0
    });
    const wireBytes = await this.send(channel, `r${index}`);
    channel.send({ type: "round-end", round: index });
    await channel.next("round-ok");
    const pages = dumped.stats?.pagesWritten ?? 0;
    this.lastRoundAt = started;
    const report = roundReport(index, pages, wireBytes, started, sinceLast);
    this.rounds.push(report);
    return report;
  }
  /** The freeze: a dump of everything, its memory only what changed since the last round; the tree stays stopped. */
  freeze() {
    const last = this.rounds.length - 1;
    return checkpoint(this.pid, {
      ...this.criuOptions,
      imagesDir: this.dir("final"),
      leaveStopped: true,
      trackMem: true,
      parentImages: last >= 0 ? `../r${last}` : void 0
    });
  }
  /** Sends the frozen tree's images (after freeze()). */
  async sendFinal(channel, dumped) {
    const wireBytes = await this.send(channel, "final");
    return { pages: dumped.stats?.pagesWritten ?? 0, wireBytes };
  }
  close() {
  }
  dir(name) {
    return path.join(this.work, "pre-dumps", name);
  }
  /** Each image file of one directory of the chain, as it is (CRIU's `parent` link stays here). */
  async send(channel, name) {
    const dir = this.dir(name);
    let bytes = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".img"))
        continue;
      const file = path.join(dir, entry.name);
      const { size } = await stat(file);
      await channel.sendFile({ type: "image-file", dir: name, name: entry.name }, file, size);
      bytes += size;
    }
    return bytes;
  }
};

// lib/migrate/downtime-probe.js
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
var INTERVAL_MS = 10;
var REQUEST_TIMEOUT_MS = 3e4;
var FIRST_ANSWER_MS = 5e3;
var LAST_ANSWER_MS = 1e4;
function validateProbeUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `probe must be an http:// URL, got '${url}'`);
  }
  if (parsed.protocol !== "http:")
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `probe must be an http:// URL, got '${url}'`);
  return parsed;
}
function startProbe(url) {
  const target = validateProbeUrl(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const report = { url, answers: 0, longestGapMs: 0, reconnects: 0 };
  const seen = /* @__PURE__ */ new WeakSet();
  let stopping = false;
  let current;
  let last = performance.now();
  let answered;
  const ask = () => new Promise((resolve, reject) => {
    const request = http.get(target, { agent, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      response.resume();
      response.on("end", resolve);
      response.on("error", reject);
    });
    current = request;
    request.on("socket", (socket) => {
      if (seen.has(socket))
        return;
      if (report.answers > 0 || report.lastError)
        report.reconnects++;
      seen.add(socket);
      socket.setNoDelay(true);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on("error", reject);
  });
  const running = (async () => {
    while (!stopping) {
      try {
        await ask();
        const now = performance.now();
        report.longestGapMs = Math.max(report.longestGapMs, now - last);
        last = now;
        report.answers++;
        answered?.();
      } catch (error) {
        if (!stopping)
          report.lastError = error.message;
      }
      await sleep(INTERVAL_MS);
    }
  })();
  const nextAnswer = (withinMs) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), withinMs);
    answered = () => {
      clearTimeout(timer);
      answered = void 0;
      resolve(true);
    };
  });
  let stopped;
  return {
    async answering() {
      if (report.answers > 0 || await nextAnswer(FIRST_ANSWER_MS))
        return;
      await this.stop(false);
      throw new FreezedryError(ErrorCode.INVALID_ARG_VALUE, `the probe got no answer from ${url} within ${FIRST_ANSWER_MS} ms${report.lastError ? ` (${report.lastError})` : ""}`);
    },
    stop(waitForAnswer = true) {
      stopped ??= finish(waitForAnswer);
      return stopped;
    }
  };
  async function finish(waitForAnswer) {
    if (waitForAnswer)
      await nextAnswer(LAST_ANSWER_MS);
    stopping = true;
    current?.destroy();
    await running;
    agent.destroy();
    return report;
  }
}

// lib/migrate/secure-transport.js
import { hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import tls from "node:tls";
var IDENTITY = "freezedry-migration-v1";
var CIPHERS = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
function loadCredentials(token, files) {
  if (!files || files.cert === void 0 && files.key === void 0 && files.ca === void 0)
    return { token };
  const read = (what) => {
    const file = files[what];
    if (typeof file !== "string") {
      throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "TLS certificates need all three of cert, key and ca (--tls-cert, --tls-key, --tls-ca)");
    }
    try {
      return readFileSync(file);
    } catch (cause) {
      throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `cannot read the TLS ${what} ${file}: ${cause.message}`, { cause });
    }
  };
  return { token, certificates: { cert: read("cert"), key: read("key"), ca: read("ca") } };
}
function pskFromToken(token) {
  return Buffer.from(hkdfSync("sha256", token, "freezedry migration", "tls 1.3 external psk", 32));
}
var common = { minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: CIPHERS };
function secureServerOptions(credentials) {
  const certificates = credentials.certificates;
  if (certificates)
    return { ...common, ...certificates, requestCert: true, rejectUnauthorized: false };
  const psk = pskFromToken(credentials.token);
  return { ...common, pskCallback: (_socket, identity) => identity === IDENTITY ? psk : null };
}
function connectSecure(host, port, credentials, what, timeoutMs) {
  const certificates = credentials.certificates;
  const psk = certificates ? void 0 : pskFromToken(credentials.token);
  const socket = tls.connect({
    host,
    port,
    ...common,
    ...certificates ?? { pskCallback: () => ({ psk, identity: IDENTITY }) },
    rejectUnauthorized: true,
    // The chain is checked against our CA; agents are reached by address, not by name.
    checkServerIdentity: () => void 0
  });
  const unanswered = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  return new Promise((resolve, reject) => {
    socket.once("secureConnect", () => {
      socket.off("error", failed);
      resolve(socket);
    });
    const failed = (cause) => {
      socket.destroy();
      reject(isHandshakeFailure(cause) ? new FreezedryError(ErrorCode.AUTH_FAILED, certificates ? `${what} and this agent do not accept each other's certificates: the TLS handshake failed (${cause.code})` : `${what} did not accept our token: the TLS handshake failed (${cause.code}; a different token, or not a freezedry agent)`, { cause }) : new FreezedryError(ErrorCode.MIGRATION_FAILED, `cannot reach ${what} at ${host}:${port}: ${cause.message}`, { cause }));
    };
    socket.once("error", failed);
  }).finally(() => clearTimeout(unanswered));
}
function isHandshakeFailure(error) {
  return /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(error.code ?? "");
}
function refusedPeer(socket, credentials) {
  if (!credentials.certificates || socket.authorized)
    return void 0;
  return `the peer's certificate was refused (${String(socket.authorizationError ?? "no certificate")})`;
}
function describeHandshakeFailure(error) {
  if (error.code === "ERR_SSL_WRONG_VERSION_NUMBER")
    return `not a TLS client (${error.code})`;
  if (error.code === "ECONNRESET")
    return "the peer gave up the TLS handshake (it lacks our credentials, or is not a freezedry agent)";
  if (/CERTIFICATE|CERT_/.test(error.code ?? ""))
    return `the peer's certificate was refused (${error.code})`;
  return `the peer did not prove it knows the token (TLS handshake: ${error.code ?? error.message})`;
}

// lib/migrate/message-channel.js
import { createReadStream, createWriteStream } from "node:fs";
var MAX_MESSAGE = 16 << 20;
var MAX_BYTES = 256 << 20;
var MAX_FILE = 2 ** 40;
var PEER_CODES = [ErrorCode.INCOMPATIBLE_HOST, ErrorCode.AUTH_FAILED, ErrorCode.MIGRATION_FAILED];
var KEEPALIVE_MS = 1e3;
var LINK_TIMEOUT_MS = 1e4;
var MessageChannel = class {
  socket;
  chunks = [];
  buffered = 0;
  waiter;
  ended;
  bytesSent = 0;
  bytesReceived = 0;
  /** Silence from the peer after which the connection counts as lost; may change per phase. */
  linkTimeoutMs;
  lastHeard = performance.now();
  streaming = false;
  ticker;
  lostListeners = [];
  constructor(socket, options = {}) {
    this.socket = socket;
    this.linkTimeoutMs = options.linkTimeoutMs ?? LINK_TIMEOUT_MS;
    socket.setNoDelay(true);
    this.ticker = setInterval(() => {
      if (performance.now() - this.lastHeard > this.linkTimeoutMs) {
        socket.destroy(new Error(`no word from the peer for ${(this.linkTimeoutMs / 1e3).toFixed(1)} s (link or peer lost)`));
      } else if (!this.streaming && !socket.destroyed) {
        this.send({ type: "keepalive" });
      }
    }, Math.min(KEEPALIVE_MS, this.linkTimeoutMs / 4));
    this.ticker.unref();
    socket.on("data", (chunk) => {
      this.lastHeard = performance.now();
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.bytesReceived += chunk.length;
      if (this.buffered > 8 << 20)
        socket.pause();
      this.wake();
    });
    const end = (error) => {
      clearInterval(this.ticker);
      if (!this.ended) {
        this.ended = error ?? new Error("the peer closed the connection");
        for (const listener of this.lostListeners.splice(0))
          listener(this.ended);
      }
      this.wake();
    };
    socket.on("end", () => end());
    socket.on("close", () => end());
    socket.on("error", (error) => end(error));
  }
  send(message) {
    const body = Buffer.from(JSON.stringify(message));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    this.socket.write(header);
    this.socket.write(body);
    this.bytesSent += 4 + body.length;
  }
  /** Sends a header message with the file's size, then the file's bytes. */
  async sendFile(message, file, size) {
    if (this.ended || this.socket.destroyed) {
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `connection lost before sending the checkpoint: ${this.ended?.message ?? "closed"}`);
    }
    this.send({ ...message, size });
    this.streaming = true;
    await new Promise((resolve, reject) => {
      const stream = createReadStream(file);
      const lost = () => {
        stream.destroy();
        reject(new FreezedryError(ErrorCode.MIGRATION_FAILED, "connection lost while sending the checkpoint"));
      };
      this.socket.once("close", lost);
      stream.on("error", (error) => {
        this.socket.off("close", lost);
        reject(error);
      });
      stream.on("end", () => {
        this.socket.off("close", lost);
        resolve();
      });
      stream.pipe(this.socket, { end: false });
    }).finally(() => this.streaming = false);
    this.bytesSent += size;
  }
  sendBytes(message, bytes) {
    this.send({ ...message, size: bytes.length });
    this.socket.write(bytes);
    this.bytesSent += bytes.length;
  }
  /** Resolves once the socket's send buffer has room again (fails if the connection goes). */
  async drained() {
    if (!this.socket.writableNeedDrain)
      return;
    await new Promise((resolve, reject) => {
      const done = () => {
        this.socket.off("close", lost);
        resolve();
      };
      const lost = () => {
        this.socket.off("drain", done);
        reject(new FreezedryError(ErrorCode.MIGRATION_FAILED, `connection lost while sending: ${this.ended?.message ?? "closed"}`));
      };
      this.socket.once("drain", done);
      this.socket.once("close", lost);
    });
  }
  /** The next message; `expect` names the types that may come (anything else is a protocol error). */
  async next(...expect) {
    let message;
    do {
      const length = (await this.take(4)).readUInt32BE(0);
      if (length > MAX_MESSAGE)
        throw protocolError(`oversized message (${length} bytes) from the peer`);
      message = parseMessage(await this.take(length));
    } while (message.type === "keepalive");
    if (expect.length > 0 && !expect.includes(message.type)) {
      if (message.type === "failed" || message.type === "refused" || message.type === "incompatible")
        throw peerError(message);
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `unexpected '${message.type}' from the peer (wanted ${expect.join(" or ")})`);
    }
    return message;
  }
  /** The raw bytes that follow a header whose `size` is checked first (at most MAX_BYTES). */
  async receiveBytes(size) {
    return this.take(checkedSize(size, MAX_BYTES));
  }
  /** Writes the raw bytes that follow a file header into a file (its `size` checked first). */
  async receiveFile(declared, file) {
    const size = checkedSize(declared, MAX_FILE);
    const out = createWriteStream(file, { mode: 384 });
    let left = size;
    try {
      while (left > 0) {
        const chunk = await this.take(Math.min(left, 4 << 20), true);
        left -= chunk.length;
        if (!out.write(chunk))
          await new Promise((resolve) => out.once("drain", () => resolve()));
      }
    } finally {
      await new Promise((resolve) => out.end(() => resolve()));
    }
  }
  /**
   * After a failure on this side: the reason the peer gave, if its 'failed' message is among
   * what already arrived (a peer that fails closes the connection, and that can surface here
   * first as a reset while sending).
   */
  async peerFailure() {
    try {
      for (; ; ) {
        const message = await this.next();
        if (message.type === "failed")
          return peerError(message);
      }
    } catch {
      return void 0;
    }
  }
  /** Calls `listener` once if the connection is lost or closed (at once if it already is). */
  onLost(listener) {
    if (this.ended)
      listener(this.ended);
    else
      this.lostListeners.push(listener);
  }
  /**
   * Ends the connection: every wait here fails at once, and what was sent is still flushed
   * (a TLS socket destroyed right after a write drops what it had not yet encrypted and sent).
   */
  close() {
    clearInterval(this.ticker);
    if (!this.ended) {
      this.ended = new Error("the connection was closed here");
      for (const listener of this.lostListeners.splice(0))
        listener(this.ended);
      this.wake();
    }
    if (this.socket.destroyed)
      return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2e3).unref();
  }
  /** Exactly `size` bytes (or, with partial, between 1 and `size`). */
  async take(size, partial = false) {
    while (this.buffered < (partial ? 1 : size)) {
      if (this.ended) {
        throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `connection lost: ${this.ended.message}`, { cause: this.ended });
      }
      this.socket.resume();
      await new Promise((resolve) => this.waiter = resolve);
    }
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const count = Math.min(size, all.length);
    const out = all.subarray(0, count);
    const rest = all.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    if (this.buffered < 8 << 20)
      this.socket.resume();
    return out;
  }
  wake() {
    const waiter = this.waiter;
    this.waiter = void 0;
    waiter?.();
  }
};
function protocolError(message) {
  return new FreezedryError(ErrorCode.MIGRATION_PROTOCOL, message);
}
function parseMessage(bytes) {
  let parsed;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw protocolError("a message from the peer is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || typeof parsed.type !== "string") {
    throw protocolError("a message from the peer has no type");
  }
  return parsed;
}
function checkedSize(size, limit) {
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 || size > limit) {
    throw protocolError(`the peer declared ${JSON.stringify(size) ?? "no"} bytes to follow (at most ${limit} here)`);
  }
  return size;
}
function peerError(message) {
  const peerCode = typeof message.code === "string" ? message.code : void 0;
  const said = String(message.message ?? message.type).slice(0, 2e3);
  const code = peerCode && PEER_CODES.includes(peerCode) ? peerCode : ErrorCode.MIGRATION_FAILED;
  return new FreezedryError(code, `the peer reports${peerCode && code !== peerCode ? ` ${peerCode}` : ""}: ${said}`, { peerCode });
}

// lib/migrate/planning.js
var DUMP_BYTES_PER_MS = 1e6;
var RESTORE_BYTES_PER_MS = 1e6;
var ARCHIVE_FRACTION = 0.45;
var LAZY_FREEZE_BYTES_PER_MS = 6e6;
var LAZY_FREEZE_BASE_MS = 60;
var ROUND_LIMITS = {
  /** At most this many rounds (P.Haul: 9). */
  maxRounds: 8,
  /** Rounds stop when the dirty set shrinks by less than this fraction from one to the next. */
  minShrink: 0.1,
  /** ... or after this long in all. */
  maxTotalMs: 6e4
};
function estimateStopCopyMs(residentBytes2, bandwidthMBps) {
  return residentBytes2 / DUMP_BYTES_PER_MS + residentBytes2 * ARCHIVE_FRACTION / (bandwidthMBps * 1e3) + residentBytes2 / RESTORE_BYTES_PER_MS;
}
function estimateLazyFreezeMs(residentBytes2) {
  return LAZY_FREEZE_BASE_MS + residentBytes2 / LAZY_FREEZE_BYTES_PER_MS;
}
function nextStep(rounds, context) {
  const limits = context.limits ?? ROUND_LIMITS;
  const first = rounds[0];
  const last = rounds.at(-1);
  if (!first || !last || rounds.length < 2)
    return { step: "continue", expectedDowntimeMs: Infinity, reason: "no write rate measured yet" };
  const pagesPerMs = first.pages / Math.max(first.durationMs, 1);
  const sendMs = last.pages / Math.max(pagesPerMs, 1e-6);
  const expectedDowntimeMs = estimateLazyFreezeMs(context.residentBytes) + sendMs;
  if (expectedDowntimeMs <= context.budgetMs) {
    return { step: "pre-copy", expectedDowntimeMs, reason: `${last.pages} dirty pages fit the budget` };
  }
  const before = rounds.at(-2);
  if (rounds.length > 2 && last.pages > before.pages * (1 - limits.minShrink)) {
    return { step: "hybrid", expectedDowntimeMs, reason: `the dirty set stopped shrinking (${before.pages} \u2192 ${last.pages} pages)` };
  }
  if (rounds.length >= limits.maxRounds)
    return { step: "hybrid", expectedDowntimeMs, reason: `${rounds.length} rounds` };
  if (context.elapsedMs >= limits.maxTotalMs)
    return { step: "hybrid", expectedDowntimeMs, reason: `${Math.round(context.elapsedMs)} ms of rounds` };
  return { step: "continue", expectedDowntimeMs, reason: "converging" };
}
function chooseMode(inputs) {
  const roundsPossible = inputs.tracking !== "none" && (inputs.lazyThere || inputs.tracking === "soft-dirty");
  if (!roundsPossible) {
    return {
      mode: "stop-copy",
      reason: inputs.tracking === "none" ? "no way to track writes here (neither the uffd tracker nor soft-dirty)" : "the destination cannot restore lazily"
    };
  }
  if (inputs.estimatedStopCopyMs <= inputs.budgetMs)
    return { mode: "stop-copy", reason: "a stop-copy fits the budget" };
  if (inputs.lazyThere && inputs.estimatedLazyFreezeMs > inputs.budgetMs)
    return { mode: "post-copy", reason: "even a freeze that moves no memory exceeds the budget" };
  return { mode: "rounds", reason: "rounds can bring the freeze within the budget" };
}

// lib/migrate/precopy.js
import { readFile } from "node:fs/promises";
import path2 from "node:path";
var BATCH_BYTES = 8 << 20;
var ZSTD_LEVEL = 1;
var PreCopy = class _PreCopy {
  tracking = "uffd";
  rounds = [];
  tasks;
  lastScanAt = performance.now();
  rawBytes = 0;
  wireBytes = 0;
  constructor(tasks) {
    this.tasks = tasks;
  }
  /** Starts tracking every task of the tree below `pid`. */
  static start(pid) {
    const tasks = [];
    try {
      for (const hostPid of processTree(pid).filter((p) => readStat(p)?.state !== "Z")) {
        const tracker = DirtyTracker.attach(hostPid);
        const imagePid = namespacePid(hostPid) ?? hostPid;
        tasks.push({ hostPid, imagePid, tracker, sent: [], trusted: normalize(tracker.areas()) });
      }
    } catch (error) {
      for (const task of tasks)
        task.tracker.close();
      throw error;
    }
    return new _PreCopy(tasks);
  }
  /** Compressed bytes per raw byte so far (1 before anything was sent). */
  get compression() {
    return this.rawBytes > 0 ? this.wireBytes / this.rawBytes : 1;
  }
  /** Sends one round and waits until the destination has stored it. */
  async round(channel) {
    const index = this.rounds.length;
    const started = performance.now();
    const sinceLastScan = started - this.lastScanAt;
    let pages = 0;
    let wire = 0;
    for (const task of this.tasks) {
      const written = normalize(task.tracker.scan());
      const ranges = index === 0 ? normalize(task.tracker.present()) : written;
      task.trusted = intersect(task.trusted, normalize(task.tracker.areas()));
      wire += await this.send(channel, task.hostPid, task.imagePid, ranges);
      task.sent = union(task.sent, ranges);
      pages += totalBytes(ranges) / PAGE_SIZE;
    }
    this.lastScanAt = started;
    channel.send({ type: "round-end", round: index });
    await channel.next("round-ok");
    const report = roundReport(index, pages, wire, started, sinceLastScan);
    this.rounds.push(report);
    return report;
  }
  /**
   * With the tree frozen by CRIU and its images in `imagesDir`: per task, the lazy pages the
   * destination lacks or holds stale. pre-copy sends them; hybrid tells the destination to
   * forget its stale copies, and they are pulled from CRIU's page server with the rest.
   */
  async final(channel, imagesDir, rootPid, mode) {
    const hostPidOf = new Map(processTree(rootPid).map((host) => [namespacePid(host) ?? host, host]));
    const dumped = parsePstree(await readFile(path2.join(imagesDir, "pstree.img"))).map((task) => task.pid);
    let pages = 0;
    let wire = 0;
    for (const imagePid of dumped) {
      const lazy = await lazyRanges(imagesDir, imagePid);
      const task = this.tasks.find((t) => t.imagePid === imagePid && hostPidOf.get(imagePid) === t.hostPid);
      let needed = lazy;
      if (task) {
        const written = normalize(task.tracker.scan());
        const trusted = intersect(task.trusted, normalize(task.tracker.areas()));
        const intact = subtract(intersect(task.sent, trusted), written);
        needed = subtract(lazy, intact);
      }
      if (needed.length === 0)
        continue;
      pages += totalBytes(needed) / PAGE_SIZE;
      if (mode === "pre-copy") {
        const hostPid = hostPidOf.get(imagePid);
        if (hostPid === void 0)
          throw new Error(`task ${imagePid} of the dump is not in the frozen tree`);
        wire += await this.send(channel, hostPid, imagePid, needed);
      } else {
        channel.send({ type: "stale", pid: imagePid, ranges: needed.flat() });
      }
    }
    return { pages, wireBytes: wire };
  }
  close() {
    for (const task of this.tasks)
      task.tracker.close();
  }
  /** Reads and sends `ranges` of a task, one batch read ahead; returns the bytes on the wire. */
  async send(channel, hostPid, imagePid, ranges) {
    const read = (batch) => native().readMemory(hostPid, Float64Array.from(batch.flatMap(([start, end]) => [start, end - start])), ZSTD_LEVEL);
    const pieces = [...batches(ranges, BATCH_BYTES)];
    let wire = 0;
    let next = pieces.length > 0 ? read(pieces[0]) : void 0;
    for (let i = 0; i < pieces.length; i++) {
      const copy = await next;
      next = i + 1 < pieces.length ? read(pieces[i + 1]) : void 0;
      channel.sendBytes({ type: "pages", pid: imagePid, ranges: pieces[i].flat(), raw: copy.size }, copy.data);
      await channel.drained();
      wire += copy.data.length;
      this.rawBytes += copy.size;
      this.wireBytes += copy.data.length;
    }
    next?.catch(() => {
    });
    return wire;
  }
};
async function lazyRanges(imagesDir, imagePid) {
  let bytes;
  try {
    bytes = await readFile(path2.join(imagesDir, `pagemap-${imagePid}.img`));
  } catch {
    return [];
  }
  return normalize(parsePagemap(bytes).entries.filter((e) => (e.flags & PageFlags.LAZY) !== 0).map((e) => [e.vaddr, e.vaddr + e.nrPages * PAGE_SIZE]));
}

// lib/migrate/process-subject.js
function processSubject(pid) {
  return {
    kind: "process",
    pid,
    hello: {},
    async dumpArchive(file, criuOptions) {
      const dumped = await checkpoint(pid, { archive: file, leaveStopped: true, archiveOptions: { sync: false }, ...criuOptions });
      return { held: heldTree(dumped.pids), summary: `dumped ${dumped.pids.length} task(s) into ${dumped.archive?.bytes} bytes` };
    },
    async lazyDump({ imagesDir, port, abandon, criuOptions, onImages, onServing }) {
      const held = heldTree(processTree(pid));
      const done = checkpoint(pid, {
        imagesDir,
        lazyPages: { address: "127.0.0.1", port, abandon },
        leaveStopped: true,
        ...criuOptions,
        onNotification: async (n) => {
          if (n.name === "post-dump")
            await onImages();
          else if (n.name === "status-ready")
            onServing();
        }
      }).then(() => {
      });
      return { held, done };
    }
  };
}
function heldTree(pids) {
  return {
    pids,
    resume: async () => signalEach(pids, "SIGCONT"),
    // Children before parents, so none is re-parented mid-way.
    end: async () => signalEach([...pids].reverse(), "SIGKILL"),
    guard: () => resumeTreeIfThisProcessDies(pids)
  };
}

// lib/migrate/source-modes.js
import { stat as stat2 } from "node:fs/promises";
import path4 from "node:path";

// lib/migrate/image-bundle.js
import { mkdir, readdir as readdir2, readFile as readFile2, writeFile } from "node:fs/promises";
import path3 from "node:path";
async function bundleImages(dir) {
  const names = (await readdir2(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  const contents = await Promise.all(names.map((name) => readFile2(path3.join(dir, name))));
  return { files: names.map((name, i) => ({ name, size: contents[i].length })), bytes: Buffer.concat(contents) };
}
async function unbundleImages(files, bytes, dir) {
  const list = Array.isArray(files) ? files : [];
  const valid = list.every((f) => typeof f?.name === "string" && /^[\w.+-]+$/.test(f.name) && f.name !== "." && f.name !== ".." && Number.isSafeInteger(f.size) && f.size >= 0);
  if (!valid || list.reduce((sum, f) => sum + f.size, 0) !== bytes.length) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, "malformed images from the source");
  }
  await mkdir(dir, { recursive: true });
  let at = 0;
  await Promise.all(list.map((file) => {
    const part = bytes.subarray(at, at + file.size);
    at += file.size;
    return writeFile(path3.join(dir, file.name), part, { flag: "wx", mode: 384 });
  }));
}

// lib/migrate/page-relay.js
import { randomBytes as randomBytes2, timingSafeEqual as timingSafeEqual2 } from "node:crypto";
import { connect, createServer as createPlainServer } from "node:net";
import { createServer } from "node:tls";
var TICKET_BYTES = 32;
var TICKET_WAIT_MS = 5e3;
async function openPageRelay(options) {
  const ticket = randomBytes2(TICKET_BYTES);
  let admitted = false;
  const sockets = /* @__PURE__ */ new Set();
  const server = createServer(secureServerOptions(options.credentials), (peer) => {
    sockets.add(peer);
    peer.once("close", () => sockets.delete(peer));
    const from = `${peer.remoteAddress}:${peer.remotePort}`;
    const refuse = (why) => {
      options.log(`refused a page-server connection from ${from}: ${why}`);
      peer.destroy();
    };
    const refusal = refusedPeer(peer, options.credentials);
    if (refusal)
      return refuse(refusal);
    if (admitted)
      return refuse("the destination is already served");
    const timer = setTimeout(() => refuse(`no ticket within ${TICKET_WAIT_MS} ms`), TICKET_WAIT_MS);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < TICKET_BYTES)
        return;
      clearTimeout(timer);
      peer.off("data", onData);
      peer.pause();
      if (admitted)
        return refuse("the destination is already served");
      if (!timingSafeEqual2(head.subarray(0, TICKET_BYTES), ticket))
        return refuse("wrong ticket");
      admitted = true;
      server.close();
      const criu = connect(options.criuPort, "127.0.0.1");
      sockets.add(criu);
      criu.once("connect", () => {
        const rest = head.subarray(TICKET_BYTES);
        if (rest.length > 0)
          criu.write(rest);
      });
      splice(peer, criu);
    };
    peer.on("data", onData);
    peer.once("error", () => clearTimeout(timer));
    peer.once("close", () => clearTimeout(timer));
  });
  server.on("tlsClientError", (error, socket) => {
    options.log(`refused a page-server connection from ${socket.remoteAddress}:${socket.remotePort}: ${describeHandshakeFailure(error)}`);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, options.host, resolve);
  });
  const { port } = server.address();
  return {
    port,
    ticket,
    close: () => {
      server.close();
      for (const socket of sockets)
        socket.destroy();
    }
  };
}
async function openPageTunnel(options) {
  const sockets = /* @__PURE__ */ new Set();
  let taken = false;
  const server = createPlainServer((local) => {
    sockets.add(local);
    local.once("close", () => sockets.delete(local));
    if (taken) {
      local.destroy();
      return;
    }
    taken = true;
    server.close();
    local.pause();
    connectSecure(options.host, options.port, options.credentials, "the source's page relay", options.timeoutMs).then((remote) => {
      sockets.add(remote);
      splice(local, remote);
    }, (error) => {
      options.log(`cannot reach the source's page relay: ${error.message}`);
      local.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: server.address().port,
    close: () => {
      server.close();
      for (const socket of sockets)
        socket.destroy();
    }
  };
}
function splice(client, server) {
  client.setNoDelay(true);
  server.setNoDelay(true);
  const start = () => {
    client.pipe(server);
    server.pipe(client);
    client.resume();
  };
  if (server.connecting)
    server.once("connect", start);
  else
    start();
  const end = () => {
    client.destroy();
    server.destroy();
  };
  server.once("error", end);
  server.once("close", end);
  client.once("error", end);
  client.once("close", () => server.end());
}

// lib/migrate/source-modes.js
var RESTORE_TIMEOUT_MS = 12e4;
async function stopCopy(context) {
  const { subject, channel, work, criuOptions, log } = context;
  const file = path4.join(work, "checkpoint.tar.zst");
  const frozeAt = performance.now();
  const { held, summary } = await subject.dumpArchive(file, criuOptions);
  return resumedOnFailure(held, async () => {
    log(`${summary}; sending`);
    await channel.sendFile({ type: "archive" }, file, (await stat2(file)).size);
    return handOver(context, held, frozeAt);
  });
}
async function preDumpedFreeze(context, pre) {
  const { channel, log } = context;
  const frozeAt = performance.now();
  const dumped = await pre.freeze();
  const held = heldTree(dumped.pids);
  return resumedOnFailure(held, async () => {
    const final = await pre.sendFinal(channel, dumped);
    log(`frozen: ${final.pages} pages written since the last pre-dump sent (${(final.wireBytes / 1048576).toFixed(1)} MiB of images)`);
    channel.send({ type: "dumped" });
    return { ...await handOver(context, held, frozeAt), final };
  });
}
async function handOver({ channel, options, log }, held, frozeAt) {
  const restored = await withTimeout(channel.next("restored"), options.timeoutMs ?? RESTORE_TIMEOUT_MS, "the destination did not restore the tree in time");
  const frozenMs = performance.now() - frozeAt;
  await held.end();
  channel.send({ type: "done" });
  log(`running on the destination as pid ${String(restored.pid)}; the source has ended`);
  return { destinationPid: Number(restored.pid), frozenMs };
}
async function withRounds(context, pre, requested, budgetMs, decision) {
  const { subject, channel, log } = context;
  const { pid } = subject;
  const dirtyTracking = pre.tracking;
  try {
    const started = performance.now();
    const resident = residentBytes(processTree(pid));
    let mode;
    for (; ; ) {
      const round = await pre.round(channel);
      log(`round ${round.round}: ${round.pages} pages (${(round.wireBytes / 1048576).toFixed(1)} MiB sent) in ${round.durationMs.toFixed(0)} ms` + (round.round > 0 ? `; written at ${round.dirtyRateMBps.toFixed(1)} MB/s` : ""));
      const step = nextStep(pre.rounds, { budgetMs, residentBytes: resident, elapsedMs: performance.now() - started });
      if (step.step === "continue")
        continue;
      mode = requested === "auto" ? step.step : requested;
      if (pre.tracking === "soft-dirty")
        mode = "pre-copy";
      if (decision)
        Object.assign(decision, { chosen: mode, reason: step.reason });
      log(`rounds stop: ${step.reason} (a freeze now: about ${step.expectedDowntimeMs.toFixed(0)} ms); ${mode}`);
      break;
    }
    const result = pre.tracking === "soft-dirty" ? await preDumpedFreeze(context, pre) : await lazyMigration(context, { pre, mode });
    return { ...result, mode, rounds: pre.rounds, dirtyTracking };
  } catch (error) {
    const reported = await channel.peerFailure();
    if (reported)
      throw migrationError(reported, "the source runs on");
    throw isFreezedryError(error) ? error : migrationError(error, "the source runs on");
  }
}
async function lazyMigration({ subject, channel, work, criuOptions, options, credentials, log }, rounds) {
  const imagesDir = path4.join(work, "lazy", "checkpoint");
  const port = 2e4 + Math.floor(Math.random() * 4e4);
  const relay = await openPageRelay({ host: channel.socket.localAddress ?? "127.0.0.1", criuPort: port, credentials, log });
  const frozeAt = performance.now();
  let restored;
  let final;
  const steps = { dumpMs: 0, finalMs: 0, imagesMs: 0, restoreMs: 0 };
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
        log(`frozen: ${final.pages} pages written since the last round ${rounds.mode === "pre-copy" ? `sent (${(final.wireBytes / 1048576).toFixed(1)} MiB)` : "left to be pulled"}`);
      }
      steps.finalMs = performance.now() - frozeAt - steps.dumpMs;
      await subject.sendExtras?.(channel);
      const bundle = await bundleImages(imagesDir);
      channel.sendBytes({ type: "images", files: bundle.files }, bundle.bytes);
      await channel.next("images-ok");
      steps.imagesMs = performance.now() - frozeAt - steps.dumpMs - steps.finalMs;
      log(`sent ${bundle.files.length} non-memory images; serving memory on port ${relay.port}`);
    },
    onServing: () => {
      channel.send({ type: "serve", port: relay.port, ticket: relay.ticket.toString("base64") });
      restored = withTimeout(channel.next("restored"), options.timeoutMs ?? RESTORE_TIMEOUT_MS, "the destination did not restore the tree in time").then((m) => {
        log(`running on the destination as pid ${String(m.pid)}; it pulls its memory`);
        const at = performance.now();
        steps.restoreMs = at - frozeAt - steps.dumpMs - steps.finalMs - steps.imagesMs;
        return { pid: Number(m.pid), at };
      });
      restored.catch(() => {
      });
    }
  });
  const { held, done: dumping } = await lazyDump.catch((error) => {
    relay.close();
    throw error;
  });
  channel.onLost((cause) => abandon.abort(cause));
  return resumedOnFailure(held, async () => {
    await dumping.finally(() => relay.close()).catch((error) => {
      if (!abandon.signal.aborted)
        throw error;
      const cause = abandon.signal.reason;
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `connection lost: ${cause.message}`, { cause });
    });
    if (!restored)
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, "CRIU never started serving the memory");
    const running = await restored;
    const filled = await channel.next("filled");
    await held.end();
    channel.send({ type: "done" });
    log("the destination has all the memory; the source has ended");
    return { destinationPid: running.pid, frozenMs: running.at - frozeAt, freezeSteps: steps, pagesPulled: Number(filled.pulled ?? filled.pages), final };
  });
}
async function resumedOnFailure(held, body) {
  const unguard = held.guard();
  try {
    return await body();
  } catch (error) {
    await held.resume();
    throw migrationError(error, "the source was resumed");
  } finally {
    unguard();
  }
}
function withTimeout(promise, ms, message) {
  if (!ms)
    return promise;
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new FreezedryError(ErrorCode.MIGRATION_FAILED, message)), ms).unref())
  ]);
}
function migrationError(error, outcome) {
  if (isFreezedryError(error) && error.code !== ErrorCode.MIGRATION_FAILED)
    return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FreezedryError(ErrorCode.MIGRATION_FAILED, `migration failed: ${message}; ${outcome}`, { cause: error });
}

// lib/migrate/source.js
var MODES = ["auto", "stop-copy", "pre-copy", "post-copy", "hybrid"];
var TRACKING = ["auto", "uffd", "soft-dirty"];
var PROBE_BYTES = 4 << 20;
async function migrate(pid, options) {
  validateMigrateOptions(options);
  if (!readStat(pid))
    throw new FreezedryError(ErrorCode.NO_SUCH_PROCESS, `No process with pid ${pid}`, { pid });
  return migrateSubject(processSubject(pid), options);
}
function validateMigrateOptions(options) {
  if (!options.token)
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "migrate needs a token (--token or FREEZEDRY_TOKEN)");
  const requested = options.mode ?? "auto";
  if (!MODES.includes(requested)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `unknown mode ${String(requested)} (${MODES.join(", ")})`);
  }
  const tracking = options.dirtyTracking ?? "auto";
  if (!TRACKING.includes(tracking)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `unknown dirty tracking ${String(tracking)} (${TRACKING.join(", ")})`);
  }
  if (tracking === "soft-dirty" && requested === "hybrid") {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "hybrid needs the uffd dirty tracker: CRIU cannot serve a lazy dump on top of pre-dumps");
  }
  if (options.probe !== void 0)
    validateProbeUrl(options.probe);
}
async function migrateSubject(subject, options) {
  const { pid } = subject;
  const requested = options.mode ?? "auto";
  const tracking = options.dirtyTracking ?? "auto";
  const log = options.log ?? (() => {
  });
  const started = performance.now();
  const linkTimeoutMs = options.linkTimeoutMs ?? LINK_TIMEOUT_MS;
  const credentials = loadCredentials(options.token, options.tls);
  const socket = await connectSecure(options.to.host, options.to.port, credentials, "the destination", linkTimeoutMs);
  const channel = new MessageChannel(socket, { linkTimeoutMs });
  const abort = () => channel.close();
  options.signal?.addEventListener("abort", abort);
  const work = await mkdtemp(path5.join(os.tmpdir(), "freezedry-migrate-"));
  let rounds;
  let probe;
  try {
    await authenticateDestination(channel, options.token);
    const criu = await version();
    const criuOptions = {
      ...migrationCriuOptions(options),
      // Locking with nftables inside CRIU takes tens of ms less of the freeze than iptables.
      networkLock: options.networkLock ?? (canLockWithNftables(criu.path) ? "nftables" : void 0)
    };
    if (requested !== "stop-copy" && requested !== "post-copy")
      rounds = await startRounds(subject, tracking, work, criuOptions, requested === "auto");
    const softDirty = rounds?.tracking === "soft-dirty";
    const veths = vethsOfTree(pid);
    for (const bridge of bridgesOf(veths))
      pinBridgeAddress(bridge);
    channel.send({
      type: "hello",
      mode: requested,
      tracking: softDirty ? "soft-dirty" : "uffd",
      source: sourceHost(criu.text),
      criuOptions,
      // A container's veths are rebuilt by freezedry there (its hello says how), not by CRIU.
      network: { veths: subject.kind === "process" ? veths.map((link) => link.ifname.replace(/@.*$/, "")) : [] },
      ...subject.hello
    });
    const welcome = await channel.next("welcome");
    warmUpImageDecoders();
    probe = options.probe ? startProbe(options.probe) : void 0;
    await probe?.answering();
    const budgetMs = options.downtimeMs ?? 300;
    let decision;
    let mode = requested === "auto" ? "rounds" : requested;
    if (requested === "auto") {
      decision = await probeLink(pid, channel, budgetMs);
      const choice = chooseMode({ ...decision, budgetMs, tracking: rounds?.tracking ?? "none", lazyThere: welcome.lazyPages !== false });
      mode = choice.mode;
      if (mode !== "rounds") {
        decision.chosen = mode;
        decision.reason = choice.reason;
        rounds?.close();
        rounds = void 0;
      }
      channel.send({ type: "mode", mode: mode === "rounds" ? "pre-copy" : mode });
      log(`link ${decision.bandwidthMBps.toFixed(0)} MB/s, ${(decision.residentBytes / 1048576).toFixed(0)} MiB resident: stop-copy would take about ${decision.estimatedStopCopyMs.toFixed(0)} ms, a lazy freeze ${decision.estimatedLazyFreezeMs.toFixed(0)} ms; ` + (mode === "rounds" ? "pre-copy rounds" : mode));
    }
    log(`authenticated with ${options.to.host}:${options.to.port}; ${mode === "rounds" ? "auto" : mode}`);
    const context = { subject, channel, work, criuOptions, options, credentials, log };
    let result;
    if (mode === "stop-copy")
      result = { ...await stopCopy(context), mode };
    else if (mode === "post-copy")
      result = { ...await lazyMigration(context), mode };
    else
      result = await withRounds(context, rounds, mode === "rounds" ? "auto" : mode, budgetMs, decision);
    const bytesOnWire = channel.bytesSent + (result.pagesPulled ?? 0) * PAGE_SIZE;
    const totalMs = performance.now() - started;
    const seen = await probe?.stop();
    if (seen)
      log(`the probe's longest gap between answers: ${seen.longestGapMs.toFixed(0)} ms (${seen.answers} answers, ${seen.reconnects} reconnects)`);
    return { ...result, decision, totalMs, bytesSent: channel.bytesSent, bytesOnWire, clientDowntimeMs: seen?.longestGapMs, probe: seen };
  } finally {
    await probe?.stop(false);
    rounds?.close();
    options.signal?.removeEventListener("abort", abort);
    channel.close();
    await rm(work, { recursive: true, force: true });
  }
}
async function startRounds(subject, tracking, work, criuOptions, optional) {
  const { pid } = subject;
  const preDumps = () => new CriuPreDumps(pid, work, criuOptions);
  if (tracking === "soft-dirty" && subject.kind !== "process") {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "a container's rounds track writes with the uffd dirty tracker: runc's pre-dumps are not used");
  }
  if (tracking === "soft-dirty") {
    const { memTrack } = await features();
    if (!memTrack) {
      throw new FreezedryError(ErrorCode.KERNEL_FEATURE_MISSING, "dirty tracking soft-dirty: CRIU cannot track memory on this kernel (no soft-dirty bits, CONFIG_MEM_SOFT_DIRTY is off); use --dirty-tracking uffd or auto");
    }
    return preDumps();
  }
  try {
    return PreCopy.start(pid);
  } catch (error) {
    if (tracking === "uffd" || !isFreezedryError(error) || error.code !== ErrorCode.KERNEL_FEATURE_MISSING && error.code !== ErrorCode.NOT_PERMITTED)
      throw error;
    if (subject.kind === "process" && (await features()).memTrack)
      return preDumps();
    if (optional)
      return void 0;
    throw new FreezedryError(error.code, `${error.message}; nor has this kernel soft-dirty bits for CRIU's pre-dump`, { cause: error });
  }
}
async function probeLink(pid, channel, downtimeBudgetMs) {
  const start = performance.now();
  channel.sendBytes({ type: "probe" }, randomBytes3(PROBE_BYTES));
  await channel.next("probe-ok");
  const bandwidthMBps = PROBE_BYTES / 1e6 / Math.max((performance.now() - start) / 1e3, 1e-3);
  const resident = residentBytes(processTree(pid));
  return {
    bandwidthMBps,
    residentBytes: resident,
    estimatedStopCopyMs: estimateStopCopyMs(resident, bandwidthMBps),
    estimatedLazyFreezeMs: estimateLazyFreezeMs(resident),
    downtimeBudgetMs,
    chosen: "pre-copy",
    reason: ""
  };
}

export {
  authenticateSource,
  LINK_TIMEOUT_MS,
  MessageChannel,
  unbundleImages,
  links,
  pinBridgeAddress,
  outerEnds,
  loadCredentials,
  secureServerOptions,
  refusedPeer,
  describeHandshakeFailure,
  TICKET_BYTES,
  openPageTunnel,
  migrate,
  validateMigrateOptions,
  migrateSubject
};
