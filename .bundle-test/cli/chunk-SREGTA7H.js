import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  locateCriu
} from "./chunk-CJKMJKBO.js";
import {
  messageType,
  require_protobufjs
} from "./chunk-LZLFL3JA.js";
import {
  native
} from "./chunk-GUIDA3SS.js";
import {
  ErrorCode,
  FreezedryError,
  __toESM,
  abortError
} from "./chunk-KX5PMG5M.js";

// lib/criu/rpc-schema.js
var import_protobufjs = __toESM(require_protobufjs(), 1);
var { Enum, Root } = import_protobufjs.default;
var RequestType = {
  EMPTY: 0,
  DUMP: 1,
  RESTORE: 2,
  CHECK: 3,
  PRE_DUMP: 4,
  PAGE_SERVER: 5,
  NOTIFY: 6,
  FEATURE_CHECK: 9,
  VERSION: 10,
  WAIT_PID: 11,
  PAGE_SERVER_CHLD: 12,
  SINGLE_PRE_DUMP: 13
};
var root = new Root();
root.add(new Enum("RequestType", { ...RequestType }));
root.add(messageType("PageServerInfo", [["address", 1, "string"], ["port", 2, "int32"], ["pid", 3, "int32"], ["fd", 4, "int32"]]));
root.add(messageType("InheritFd", [["key", 1, "string", "required"], ["fd", 2, "int32", "required"]]));
root.add(messageType("Options", [
  ["imagesDirFd", 1, "int32", "required"],
  ["imagesDir", 68, "string"],
  ["pid", 2, "int32"],
  ["leaveRunning", 3, "bool"],
  ["extUnixSk", 4, "bool"],
  ["tcpEstablished", 5, "bool"],
  ["shellJob", 7, "bool"],
  ["fileLocks", 8, "bool"],
  ["logLevel", 9, "int32"],
  ["logFile", 10, "string"],
  ["pageServer", 11, "PageServerInfo"],
  ["notifyScripts", 12, "bool"],
  ["root", 13, "string"],
  ["parentImages", 14, "string"],
  ["trackMem", 15, "bool"],
  ["autoDedup", 16, "bool"],
  ["workDirFd", 17, "int32"],
  ["linkRemap", 18, "bool"],
  ["manageCgroups", 24, "bool"],
  ["restoreAsSibling", 26, "bool"],
  ["inheritFds", 27, "InheritFd", "repeated"],
  ["external", 37, "string", "repeated"],
  ["timeout", 45, "uint32"],
  ["tcpSkipInFlight", 46, "bool"],
  ["lazyPages", 48, "bool"],
  ["configFile", 51, "string"],
  ["tcpClose", 52, "bool"],
  ["networkLock", 64, "int32"],
  ["leaveStopped", 69, "bool"]
]));
root.add(messageType("Features", [["memTrack", 1, "bool"], ["lazyPages", 2, "bool"], ["pidfdStore", 3, "bool"]]));
root.add(messageType("Request", [
  ["type", 1, "RequestType", "required"],
  ["opts", 2, "Options"],
  ["notifySuccess", 3, "bool"],
  ["keepOpen", 4, "bool"],
  ["features", 5, "Features"],
  ["pid", 6, "uint32"]
]));
root.add(messageType("DumpResult", [["restored", 1, "bool"]]));
root.add(messageType("RestoreResult", [["pid", 1, "int32", "required"]]));
root.add(messageType("Notification", [["script", 1, "string"], ["pid", 2, "int32"]]));
root.add(messageType("Version", [
  ["major", 1, "int32", "required"],
  ["minor", 2, "int32", "required"],
  ["gitId", 3, "string"],
  ["sublevel", 4, "int32"],
  ["extra", 5, "int32"],
  ["name", 6, "string"]
]));
root.add(messageType("Response", [
  ["type", 1, "RequestType", "required"],
  ["success", 2, "bool", "required"],
  ["dump", 3, "DumpResult"],
  ["restore", 4, "RestoreResult"],
  ["notify", 5, "Notification"],
  ["pageServer", 6, "PageServerInfo"],
  ["crErrno", 7, "int32"],
  ["features", 8, "Features"],
  ["crErrmsg", 9, "string"],
  ["version", 10, "Version"],
  ["status", 11, "int32"]
]));
root.resolveAll();
var requestType = root.lookupType("Request");
var responseType = root.lookupType("Response");
function encodeRequest(request) {
  return requestType.encode(requestType.fromObject(request)).finish();
}
function decodeResponse(bytes) {
  const decoded = responseType.decode(bytes);
  return responseType.toObject(decoded, { enums: Number, longs: Number, defaults: false });
}

// lib/criu/version.js
import { statSync } from "node:fs";
var MINIMUM_CRIU = { major: 4, minor: 1 };
var cache = /* @__PURE__ */ new Map();
function cacheKey(criuPath) {
  try {
    return `${criuPath}:${statSync(criuPath).mtimeMs}`;
  } catch {
    return criuPath;
  }
}
async function queryVersion(session) {
  const key = cacheKey(session.criuPath);
  const cached = cache.get(key);
  if (cached)
    return cached;
  const { response } = await session.request({ type: RequestType.VERSION, keepOpen: true });
  if (!response.success || !response.version) {
    throw new FreezedryError(ErrorCode.CRIU_PROTOCOL, `${session.criuPath} did not report its version`);
  }
  const { major, minor, sublevel = 0, gitId } = response.version;
  const version2 = { major, minor, sublevel, gitId, text: `${major}.${minor}.${sublevel}` };
  cache.set(key, version2);
  return version2;
}
function isSupported(version2) {
  return version2.major > MINIMUM_CRIU.major || version2.major === MINIMUM_CRIU.major && version2.minor >= MINIMUM_CRIU.minor;
}
function assertSupported(version2, criuPath) {
  if (!isSupported(version2)) {
    throw new FreezedryError(ErrorCode.CRIU_TOO_OLD, `CRIU ${version2.text} at ${criuPath} is too old: freezedry needs ${MINIMUM_CRIU.major}.${MINIMUM_CRIU.minor} or newer (older CRIU fails on current kernels, e.g. "vdso: Unexpected rt vDSO area bounds"). Run 'npm run provision'.`, { criuVersion: version2.text, criuPath });
  }
}

// lib/criu/session.js
import { spawn } from "node:child_process";
import { closeSync } from "node:fs";
var OUTPUT_TAIL_BYTES = 16 * 1024;
var CriuSession = class {
  criuPath;
  child;
  exited;
  channel;
  pending;
  events = Promise.resolve();
  closed = false;
  timedOut = false;
  output = "";
  spawnError;
  /**
   * Spawns `criu swrk`; `inheritFds` become fds 4, 5, … in CRIU (for ps.fd and inherit_fd). The
   * session owns them: our copies are closed once CRIU has its own, so that a socket's other end
   * sees end-of-stream when CRIU exits. `launcher` is a command CRIU runs under (one that execs
   * it in new namespaces and exits with its status).
   */
  constructor(criuPath, inheritFds = [], launcher = []) {
    this.criuPath = criuPath;
    this.channel = new (native()).CriuChannel((kind, data, fd) => {
      this.events = this.events.then(() => this.onChannelEvent(kind, data, fd));
    });
    const command = [...launcher, criuPath, "--no-default-config", "swrk", "3"];
    this.child = spawn(command[0], command.slice(1), {
      stdio: ["ignore", "pipe", "pipe", this.channel.peerFd, ...inheritFds]
    });
    this.channel.closePeer();
    for (const fd of inheritFds)
      closeSync(fd);
    const keep = (chunk) => {
      this.output = (this.output + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.once("error", (err) => {
        this.spawnError = err;
        resolve({ code: null, signal: null });
      });
      this.child.once("close", (code, signal) => resolve({ code, signal }));
    });
  }
  get pid() {
    return this.child.pid ?? -1;
  }
  /** What criu printed on stdout and stderr (the last 16 KiB). */
  get consoleOutput() {
    return this.output;
  }
  request(request, options = {}) {
    if (this.pending)
      throw new Error("CriuSession: one request at a time");
    if (this.closed) {
      return Promise.reject(new FreezedryError(ErrorCode.CRIU_DIED, `criu (${this.criuPath}) has already exited`));
    }
    if (options.signal?.aborted && request.type !== RequestType.DUMP && request.type !== RequestType.RESTORE) {
      return Promise.reject(abortError(options.signal));
    }
    return new Promise((resolve, reject) => {
      const pending = { resolve, reject, options };
      this.pending = pending;
      let timer;
      if (options.timeoutMs !== void 0) {
        timer = setTimeout(() => {
          this.timedOut = true;
          this.child.kill("SIGKILL");
        }, options.timeoutMs);
      }
      const killNow = () => this.child.kill("SIGKILL");
      options.kill?.addEventListener("abort", killNow);
      this.channel.ref();
      const settle = () => {
        this.channel.unref();
        options.kill?.removeEventListener("abort", killNow);
        if (timer)
          clearTimeout(timer);
        if (this.pending === pending)
          this.pending = void 0;
      };
      pending.resolve = (outcome) => {
        settle();
        resolve(outcome);
      };
      pending.reject = (error) => {
        settle();
        reject(error);
      };
      try {
        this.channel.send(encodeRequest(request));
      } catch (cause) {
        pending.reject(new FreezedryError(ErrorCode.CRIU_DIED, `cannot send a request to criu: ${cause.message}`, { cause }));
      }
    });
  }
  async onChannelEvent(kind, data, fd) {
    if (kind === "message") {
      try {
        await this.onMessage(data, fd);
      } finally {
        if (fd !== void 0)
          closeSync(fd);
      }
      return;
    }
    this.closed = true;
    const pending = this.pending;
    if (!pending)
      return;
    if (kind === "error") {
      pending.reject(new FreezedryError(ErrorCode.CRIU_PROTOCOL, `CRIU channel failed: ${data.message}`, { cause: data }));
      return;
    }
    const { code, signal } = await this.exited;
    if (this.spawnError) {
      pending.reject(new FreezedryError(ErrorCode.CRIU_NOT_FOUND, `cannot start ${this.criuPath}: ${this.spawnError.message}`, { cause: this.spawnError }));
    } else if (this.timedOut) {
      pending.reject(new FreezedryError(ErrorCode.CRIU_TIMEOUT, `criu did not answer within ${pending.options.timeoutMs} ms and was killed`, {
        criuPid: this.pid
      }));
    } else {
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      const said = this.output.trim().split("\n").slice(-3).join("; ");
      pending.reject(new FreezedryError(ErrorCode.CRIU_DIED, `criu ${how} before answering${said ? `: ${said}` : ""}`, {
        criuPid: this.pid,
        exitCode: code,
        signal
      }));
    }
  }
  async onMessage(bytes, fd) {
    const pending = this.pending;
    let response;
    try {
      response = decodeResponse(bytes);
    } catch (cause) {
      pending?.reject(new FreezedryError(ErrorCode.CRIU_PROTOCOL, `undecodable message from criu: ${cause.message}`, { cause }));
      return;
    }
    if (response.type !== RequestType.NOTIFY) {
      pending?.resolve({ response, rejected: pending.rejected });
      return;
    }
    const name = response.notify?.script ?? "";
    let ok = true;
    if (pending?.options.signal?.aborted) {
      ok = false;
      pending.rejected ??= { notification: name, reason: abortError(pending.options.signal) };
    } else if (pending?.options.onNotification) {
      try {
        await pending.options.onNotification({ name, pid: response.notify?.pid, criuPid: this.pid });
      } catch (reason) {
        ok = false;
        pending.rejected ??= { notification: name, reason };
      }
      if (ok && pending.options.signal?.aborted) {
        ok = false;
        pending.rejected ??= { notification: name, reason: abortError(pending.options.signal) };
      }
    }
    void fd;
    try {
      this.channel.send(encodeRequest({ type: RequestType.NOTIFY, notifySuccess: ok }));
    } catch {
    }
  }
  /** Ends the session: closes the channel, so criu exits, and kills it if it lingers. */
  async close() {
    this.channel.close();
    if (this.child.exitCode === null && this.child.signalCode === null && !this.spawnError) {
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5e3);
      await this.exited;
      clearTimeout(timer);
    }
  }
};

// lib/criu/features.js
async function withSession(criu, use) {
  const session = new CriuSession(locateCriu(criu));
  try {
    return await use(session, await queryVersion(session));
  } finally {
    await session.close();
  }
}
async function version(options = {}) {
  return withSession(options.criu, async (session, v) => ({ ...v, path: session.criuPath }));
}
async function queryFeatures(session) {
  const { response } = await session.request({
    type: RequestType.FEATURE_CHECK,
    keepOpen: true,
    features: { memTrack: true, lazyPages: true, pidfdStore: true }
  });
  const f = response.features ?? {};
  return { memTrack: f.memTrack === true, lazyPages: f.lazyPages === true, pidfdStore: f.pidfdStore === true };
}
async function versionAndFeatures(options = {}) {
  return withSession(options.criu, async (session, v) => {
    const found = { version: { ...v, path: session.criuPath } };
    try {
      assertSupported(v, session.criuPath);
      return { ...found, features: await queryFeatures(session) };
    } catch {
      return found;
    }
  });
}
async function features(options = {}) {
  return withSession(options.criu, async (session, v) => {
    assertSupported(v, session.criuPath);
    return queryFeatures(session);
  });
}
var lazyPagesSupport = /* @__PURE__ */ new Map();
function lazyPagesAvailable(criuPath) {
  let known = lazyPagesSupport.get(criuPath);
  if (!known) {
    known = features({ criu: criuPath }).then((f) => f.lazyPages, (error) => {
      lazyPagesSupport.delete(criuPath);
      throw error;
    });
    lazyPagesSupport.set(criuPath, known);
  }
  return known;
}

export {
  RequestType,
  CriuSession,
  MINIMUM_CRIU,
  queryVersion,
  isSupported,
  assertSupported,
  withSession,
  version,
  queryFeatures,
  versionAndFeatures,
  features,
  lazyPagesAvailable
};
