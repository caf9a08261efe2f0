import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  snapshotFacts
} from "./chunk-BHCII4OU.js";
import {
  CRIU_SWITCHES,
  validateCriuOptions
} from "./chunk-OFDVBURY.js";
import {
  newStoreEntry
} from "./chunk-LJEMCCOU.js";
import {
  assertRoot,
  readStat
} from "./chunk-MRR2X73E.js";
import {
  locateCriu
} from "./chunk-CJKMJKBO.js";
import {
  prepareDumpDir
} from "./chunk-Y4SUBUAX.js";
import {
  native
} from "./chunk-GUIDA3SS.js";
import {
  ErrorCode,
  FreezedryError,
  ValidationError,
  isFreezedryError,
  reportedError
} from "./chunk-KX5PMG5M.js";

// lib/snapshot/requests.js
import { chmodSync, existsSync as existsSync2, mkdirSync as mkdirSync2, mkdtempSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import os2 from "node:os";
import path2 from "node:path";

// lib/snapshot/hooks.js
var DEFAULT_HOOK_TIMEOUT_MS = 1e4;
var before = [];
var after = [];
function register(list, fn, options) {
  if (typeof fn !== "function")
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, "a snapshot hook must be a function");
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid timeoutMs: must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  const registration = { fn, name: options.name ?? (fn.name || `hook ${list.length + 1}`), timeoutMs };
  list.push(registration);
  return () => {
    const at = list.indexOf(registration);
    if (at >= 0)
      list.splice(at, 1);
  };
}
function beforeSnapshot(fn, options = {}) {
  return register(before, fn, options);
}
function afterRestore(fn, options = {}) {
  return register(after, fn, options);
}
async function runOne(hook, phase, args) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new FreezedryError(ErrorCode.SNAPSHOT_HOOK_FAILED, `the ${phase} hook '${hook.name}' did not finish within ${hook.timeoutMs} ms`, { hook: hook.name, phase })), hook.timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(() => hook.fn(...args)), timeout]);
  } catch (cause) {
    if (cause instanceof FreezedryError && cause.code === ErrorCode.SNAPSHOT_HOOK_FAILED)
      throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new FreezedryError(ErrorCode.SNAPSHOT_HOOK_FAILED, `the ${phase} hook '${hook.name}' failed: ${message}`, { cause, hook: hook.name, phase });
  } finally {
    clearTimeout(timer);
  }
}
async function runBeforeSnapshot() {
  for (const hook of [...before].reverse())
    await runOne(hook, "beforeSnapshot", []);
}
async function runAfterRestore(context) {
  let failure;
  for (const hook of [...after]) {
    try {
      await runOne(hook, "afterRestore", [context]);
    } catch (error) {
      if (context.restored)
        throw error;
      failure ??= error;
    }
  }
  if (failure)
    throw failure;
}

// lib/snapshot/snapshot.js
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, read, fstatSync, writeSync } from "node:fs";
import { stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";
var inProgress = false;
function snapshot(options) {
  return snapshotWith(options, {});
}
async function snapshotWith(options, internals) {
  if (!isMainThread) {
    throw new FreezedryError(ErrorCode.SNAPSHOT_BUSY, "snapshot() must be called from the main thread: a worker thread cannot pause its process at a safe point");
  }
  if (inProgress)
    throw new FreezedryError(ErrorCode.SNAPSHOT_BUSY, "a snapshot of this process is already in progress");
  inProgress = true;
  try {
    const request = await prepare(options);
    try {
      await runBeforeSnapshot();
      await internals.beforeDump?.();
    } catch (error) {
      await restoreOriginal(error);
      throw error;
    }
    return await takeSnapshot({ ...request, replyTo: internals.replyTo });
  } finally {
    inProgress = false;
  }
}
async function prepare(options) {
  const targets = [options?.imagesDir, options?.archive, options?.name].filter((t) => t !== void 0);
  if (targets.length !== 1)
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "snapshot needs exactly one of imagesDir, archive and name");
  validateCriuOptions(options);
  if (options.leaveRunning !== void 0 && typeof options.leaveRunning !== "boolean") {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, "leaveRunning must be a boolean");
  }
  assertRoot("snapshot");
  locateCriu(options.criu);
  if (process.pid === 1) {
    throw new FreezedryError(ErrorCode.UNSUPPORTED_CHECKPOINT, "this process is the init of its own pid namespace (as under freezedry run): no snapshot agent can live outside its tree; checkpoint it from outside with freezedry dump");
  }
  const target = { imagesDir: options.imagesDir, archive: options.archive, name: options.name, storeRoot: options.storeRoot };
  if (target.imagesDir !== void 0) {
    target.imagesDir = path.resolve(target.imagesDir);
    await prepareDumpDir(target.imagesDir);
  }
  const file = target.archive !== void 0 ? path.resolve(target.archive) : target.name !== void 0 ? await newStoreEntry(target.name, target.storeRoot) : void 0;
  if (target.archive !== void 0)
    target.archive = file;
  if (file && await stat(file).catch(() => void 0)) {
    throw new FreezedryError(ErrorCode.ARCHIVE_EXISTS, `${file} already exists`, { path: file });
  }
  const criu = { criu: options.criu, logLevel: options.logLevel, networkLock: options.networkLock, external: options.external, workDir: options.workDir, timeoutMs: options.timeoutMs };
  for (const { name } of CRIU_SWITCHES)
    criu[name] = options[name];
  if (criu.shellJob === void 0 && readStat(process.pid)?.sid !== process.pid)
    criu.shellJob = true;
  return { pid: process.pid, target, leaveRunning: options.leaveRunning ?? true, criu };
}
async function takeSnapshot(request) {
  const [contextRead, contextWrite] = native().pipe();
  const [reportRead, reportWrite] = native().pipe();
  let answer;
  try {
    const facts = snapshotFacts(process.pid, fstatSync(contextRead).ino, fstatSync(reportWrite).ino, request.criu);
    const answered = readToEnd(contextRead);
    try {
      startAgent({ ...request, facts }, contextWrite, reportRead);
    } finally {
      closeSync(contextWrite);
      closeSync(reportRead);
    }
    answer = parseAnswer(await answered);
  } catch (error) {
    closeSync(contextRead);
    closeSync(reportWrite);
    await restoreOriginal(error);
    throw error;
  }
  closeSync(contextRead);
  if (answer.restored)
    return becomeCopy(answer, reportWrite);
  closeSync(reportWrite);
  if (!answer.ok) {
    const error = reportedError(answer.error, { logFile: answer.error.logFile, criuErrors: answer.error.criuErrors });
    await restoreOriginal(error);
    throw error;
  }
  await runAfterRestore({ restored: false, env: {} });
  return { restored: false, env: {}, checkpoint: answer.checkpoint };
}
async function becomeCopy(answer, reportFd) {
  const context = { restored: true, env: answer.env, hostPid: answer.hostPid };
  Object.assign(process.env, answer.env);
  forgetInheritedRandomness();
  let report = { ready: true };
  try {
    await runAfterRestore(context);
  } catch (error) {
    const code = isFreezedryError(error) ? error.code : ErrorCode.SNAPSHOT_HOOK_FAILED;
    report = { ready: false, error: { code, message: error.message } };
  }
  try {
    writeSync(reportFd, `${JSON.stringify(report)}
`);
  } catch {
  }
  closeSync(reportFd);
  if (!report.ready)
    process.exit(1);
  return context;
}
function forgetInheritedRandomness() {
  native().reseedRandom();
  for (let i = 0; i < 128; i++)
    randomUUID();
}
async function restoreOriginal(cause) {
  try {
    await runAfterRestore({ restored: false, env: {} });
  } catch (error) {
    if (cause instanceof FreezedryError)
      cause.details.afterRestoreError = error.message;
  }
}
function startAgent(request, contextWrite, reportRead) {
  const logDir = path.join(os.tmpdir(), "freezedry");
  mkdirSync(logDir, { recursive: true });
  const log = openSync(path.join(logDir, `snapshot-agent-${process.pid}.log`), "a");
  try {
    const child = spawn("setsid", ["--fork", process.execPath, agentScript(), JSON.stringify(request)], {
      stdio: ["ignore", log, log, contextWrite, reportRead],
      detached: true
    });
    child.on("error", () => {
    });
    child.unref();
  } finally {
    closeSync(log);
  }
}
function agentScript() {
  const here = fileURLToPath(new URL("./agent.js", import.meta.url));
  if (existsSync(here))
    return here;
  return fileURLToPath(new URL("../../lib/snapshot/agent.js", import.meta.url));
}
function readToEnd(fd) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const buffer = Buffer.alloc(64 * 1024);
    const next = () => read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
      if (error)
        return reject(error);
      if (bytes === 0)
        return resolve(Buffer.concat(chunks).toString("utf8"));
      chunks.push(Buffer.from(buffer.subarray(0, bytes)));
      if (chunks.length > 16)
        return reject(new Error("the snapshot answer is larger than 1 MiB"));
      next();
    });
    next();
  });
}
function parseAnswer(text) {
  if (text.trim() === "") {
    throw new FreezedryError(ErrorCode.CRIU_DUMP_FAILED, `the snapshot agent ended without an answer [log: ${path.join(os.tmpdir(), "freezedry", `snapshot-agent-${process.pid}.log`)}]`);
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new FreezedryError(ErrorCode.INTERNAL, `unreadable snapshot answer: ${text.slice(0, 200)}`, { cause });
  }
}

// lib/snapshot/requests.js
var REQUESTS_DIR = "/run/freezedry/snapshots";
var REQUEST_TIMEOUT_MS = 5e3;
var MAX_REQUEST_BYTES = 64 * 1024;
function requestSocket(hostPid) {
  return path2.join(REQUESTS_DIR, `${hostPid}.sock`);
}
var stopAccepting;
async function acceptSnapshotRequests() {
  if (stopAccepting)
    return stopAccepting;
  let server;
  let socketFile;
  const open = async (hostPid) => {
    mkdirSync2(REQUESTS_DIR, { recursive: true, mode: 448 });
    chmodSync(REQUESTS_DIR, 448);
    socketFile = requestSocket(hostPid);
    sweepStaleSockets();
    rmSync(socketFile, { force: true });
    const listening = net.createServer(serve);
    await new Promise((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(socketFile, () => resolve());
    });
    listening.unref();
    server = listening;
  };
  const close = () => {
    server?.close();
    server = void 0;
    if (socketFile)
      rmSync(socketFile, { force: true });
  };
  const unregisterBefore = beforeSnapshot(close, { name: "freezedry snapshot requests" });
  const unregisterAfter = afterRestore((context) => server ? void 0 : open(context.hostPid ?? process.pid), { name: "freezedry snapshot requests" });
  await open(process.pid);
  process.on("exit", close);
  stopAccepting = () => {
    unregisterBefore();
    unregisterAfter();
    process.off("exit", close);
    close();
    stopAccepting = void 0;
  };
  return stopAccepting;
}
function sweepStaleSockets() {
  for (const name of readdirSync(REQUESTS_DIR)) {
    const pid = /^(\d+)\.sock$/.exec(name)?.[1];
    if (pid && !existsSync2(`/proc/${pid}`))
      rmSync(path2.join(REQUESTS_DIR, name), { force: true });
  }
}
function serve(connection) {
  let text = "";
  connection.setTimeout(REQUEST_TIMEOUT_MS, () => connection.destroy());
  connection.on("error", () => {
  });
  connection.on("data", (chunk) => {
    text += chunk.toString("utf8");
    if (text.length > MAX_REQUEST_BYTES)
      return connection.destroy();
    const end = text.indexOf("\n");
    if (end < 0)
      return;
    connection.removeAllListeners("data");
    void handle(connection, text.slice(0, end));
  });
}
async function handle(connection, line) {
  const refuse = (error) => {
    const reply = { ok: false, error: describe(error) };
    connection.end(`${JSON.stringify(reply)}
`);
  };
  let request;
  try {
    request = parseRequest(line);
  } catch (error) {
    return refuse(error);
  }
  let dumping = false;
  try {
    const result = await snapshotWith({ ...request.target, leaveRunning: request.leaveRunning }, {
      replyTo: request.replyTo,
      beforeDump: async () => {
        dumping = true;
        await new Promise((resolve) => connection.end(`${JSON.stringify({ accepted: true })}
`, () => resolve()));
        connection.destroy();
      }
    });
    if (!result.restored)
      await sendReply(request.replyTo, { ok: true, checkpoint: result.checkpoint });
  } catch (error) {
    if (dumping)
      await sendReply(request.replyTo, { ok: false, error: describe(error) });
    else
      refuse(error);
  }
}
function parseRequest(line) {
  const value = JSON.parse(line);
  const target = value.target ?? {};
  const strings = [target.imagesDir, target.archive, target.name, target.storeRoot].filter((v) => v !== void 0);
  if (typeof value.replyTo !== "string" || !path2.isAbsolute(value.replyTo) || !strings.every((v) => typeof v === "string")) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "a snapshot request needs string targets and an absolute replyTo socket");
  }
  if (value.leaveRunning !== void 0 && typeof value.leaveRunning !== "boolean") {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, "leaveRunning must be a boolean");
  }
  return { target: { imagesDir: target.imagesDir, archive: target.archive, name: target.name, storeRoot: target.storeRoot }, leaveRunning: value.leaveRunning, replyTo: value.replyTo };
}
function describe(error) {
  return { code: isFreezedryError(error) ? error.code : ErrorCode.INTERNAL, message: error instanceof Error ? error.message : String(error) };
}
function sendReply(replyTo, reply) {
  return new Promise((resolve) => {
    const socket = net.connect(replyTo);
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.on("error", () => resolve());
    socket.on("close", () => resolve());
    socket.on("connect", () => socket.end(`${JSON.stringify(reply)}
`));
  });
}
async function requestSnapshot(pid, options) {
  const socketFile = requestSocket(pid);
  if (!existsSync2(`/proc/${pid}`))
    throw new FreezedryError(ErrorCode.NO_SUCH_PROCESS, `No process with pid ${pid}`, { pid });
  if (!existsSync2(socketFile)) {
    throw new FreezedryError(ErrorCode.SNAPSHOT_NOT_ENABLED, `process ${pid} does not take snapshot requests (${socketFile} is missing): it must call acceptSnapshotRequests()`, { pid });
  }
  const replyDir = mkdtempSync(path2.join(os2.tmpdir(), "freezedry-snapshot-"));
  const replyTo = path2.join(replyDir, "reply.sock");
  const replies = net.createServer();
  try {
    const outcome = new Promise((resolve) => {
      replies.on("connection", (socket) => readLine(socket).then((line) => line && resolve(JSON.parse(line))));
    });
    await new Promise((resolve, reject) => {
      replies.once("error", reject);
      replies.listen(replyTo, () => resolve());
    });
    const target = { imagesDir: absolute(options.imagesDir), archive: absolute(options.archive), name: options.name, storeRoot: absolute(options.storeRoot) };
    const request = { target, leaveRunning: options.leaveRunning, replyTo };
    const first = await ask(socketFile, request);
    if (first && "ok" in first && !first.ok)
      throw reportedError(first.error);
    const timeoutMs = options.timeoutMs ?? 10 * 6e4;
    let timer;
    const timedOut = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new FreezedryError(ErrorCode.CRIU_TIMEOUT, `process ${pid} did not report its snapshot within ${timeoutMs} ms`)), timeoutMs);
    });
    const reply = await Promise.race([outcome, timedOut]).finally(() => clearTimeout(timer));
    if (!reply.ok)
      throw reportedError(reply.error);
    return { checkpoint: reply.checkpoint };
  } finally {
    replies.close();
    rmSync(replyDir, { recursive: true, force: true });
  }
}
function absolute(file) {
  return file === void 0 ? void 0 : path2.resolve(file);
}
function ask(socketFile, request) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketFile);
    socket.on("error", (cause) => reject(new FreezedryError(ErrorCode.SNAPSHOT_NOT_ENABLED, `cannot reach ${socketFile}: ${cause.message}`, { cause })));
    socket.on("connect", () => {
      socket.write(`${JSON.stringify(request)}
`);
      readLine(socket).then((line) => resolve(line ? JSON.parse(line) : void 0), reject);
    });
  });
}
function readLine(socket) {
  return new Promise((resolve) => {
    let text = "";
    socket.setTimeout(REQUEST_TIMEOUT_MS * 12, () => socket.destroy());
    socket.on("data", (chunk) => {
      text += chunk.toString("utf8");
      if (text.length > MAX_REQUEST_BYTES)
        socket.destroy();
    });
    socket.on("error", () => {
    });
    socket.on("close", () => resolve(text.split("\n")[0] || void 0));
  });
}

export {
  beforeSnapshot,
  afterRestore,
  snapshot,
  REQUESTS_DIR,
  requestSocket,
  acceptSnapshotRequests,
  sendReply,
  requestSnapshot
};
