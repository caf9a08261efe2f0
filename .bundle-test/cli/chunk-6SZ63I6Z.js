import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  signalEach
} from "./chunk-MRR2X73E.js";
import {
  CriuSession,
  assertSupported,
  queryVersion
} from "./chunk-SREGTA7H.js";
import {
  closeFd,
  openDirFd
} from "./chunk-Y4SUBUAX.js";
import {
  ErrorCode,
  FreezedryError,
  isFreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/criu/log.js
import { readFile } from "node:fs/promises";
var HARMLESS = [
  /rlimit: Can't setup RLIMIT_NOFILE/
  // root without CAP_SYS_RESOURCE (ENVIRONMENT.md)
];
var ERROR_LINE = /\bError \(/;
var LINE_PREFIX = /^(?:\(\s*[\d.]+\)\s*)?(?:\d+:\s*)?/;
function errorLines(log) {
  return log.split("\n").filter((line) => ERROR_LINE.test(line) && !HARMLESS.some((re) => re.test(line))).map((line) => line.trim().replace(LINE_PREFIX, ""));
}
async function readLog(file) {
  try {
    return await readFile(file, "utf8");
  } catch {
    return "";
  }
}
function tailLines(text, count) {
  return text.split("\n").map((line) => line.trim().replace(LINE_PREFIX, "")).filter(Boolean).slice(-count);
}
function describeFailure(lines, logFile, fallback = []) {
  const shown = lines.length > 0 ? lines.slice(0, 3) : fallback.slice(-3);
  const more = lines.length > 3 ? ` (+${lines.length - 3} more)` : "";
  const body = shown.length > 0 ? shown.join("; ") : "CRIU logged no error";
  return `${body}${more} [log: ${logFile}]`;
}

// lib/criu/operation.js
async function runCriuRequest(criuPath, request, options = {}) {
  const session = new CriuSession(criuPath, options.inheritFds, options.launcher);
  try {
    const version = await queryVersion(session);
    assertSupported(version, criuPath);
    options.checkVersion?.(version);
    const outcome = await session.request(request, options);
    return { outcome, version, criuPid: session.pid };
  } finally {
    await session.close();
  }
}
async function runImageRequest(criuPath, dirs, request, options = {}) {
  let imagesDirFd;
  let workDirFd;
  try {
    imagesDirFd = openDirFd(dirs.imagesDir);
    workDirFd = dirs.workDir === dirs.imagesDir ? void 0 : openDirFd(dirs.workDir);
    return await runCriuRequest(criuPath, request({ imagesDirFd, workDirFd }), options);
  } finally {
    closeFd(imagesDirFd);
    closeFd(workDirFd);
  }
}
var EBADRQC = 56;
async function failureError(what, outcome, logFile, subject) {
  const log = await readLog(logFile);
  const lines = errorLines(log);
  const details = { logFile, criuErrors: lines, crErrno: outcome.response.crErrno };
  if (outcome.rejected) {
    const { notification, reason } = outcome.rejected;
    if (isFreezedryError(reason) && reason.code === ErrorCode.ABORTED) {
      return new FreezedryError(ErrorCode.ABORTED, `${subject}: aborted at CRIU's '${notification}' notification`, { ...details, cause: reason });
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new FreezedryError(ErrorCode.NOTIFICATION_REJECTED, `${subject}: the '${notification}' notification handler rejected: ${message}`, { ...details, cause: reason, notification });
  }
  if (outcome.response.crErrno === EBADRQC) {
    const cause = outcome.response.crErrmsg ?? lines[0] ?? "an option this kernel cannot serve";
    return new FreezedryError(ErrorCode.KERNEL_FEATURE_MISSING, `${subject}: ${cause.replace(/^Error \([^)]*\):\s*/, "").trim()} [log: ${logFile}]`, details);
  }
  const pidClash = lines.find((line) => /Can't fork for \d+: File exists/.test(line));
  if (pidClash) {
    return new FreezedryError(ErrorCode.PID_IN_USE, `${subject}: a pid the tree needs is taken: ${pidClash} [log: ${logFile}]`, details);
  }
  const code = what === "dump" ? ErrorCode.CRIU_DUMP_FAILED : ErrorCode.CRIU_RESTORE_FAILED;
  return new FreezedryError(code, `${subject} failed: ${describeFailure(lines, logFile, tailLines(log, 3))}`, details);
}

// lib/process/watchdog.js
import { spawn } from "node:child_process";
function afterThisProcessDies(script, args) {
  const wait = 'while kill -0 "$0" 2>/dev/null; do sleep 0.05; done; ';
  const watchdog = spawn("sh", ["-c", wait + script, String(process.pid), ...args], { detached: true, stdio: "ignore" });
  watchdog.on("error", () => {
  });
  watchdog.unref();
  return () => watchdog.kill("SIGKILL");
}
function resumeTreeIfThisProcessDies(pids) {
  const guard = () => signalEach(pids, "SIGCONT");
  process.once("beforeExit", guard);
  const disarm = afterThisProcessDies('i=0; while [ $i -lt 120 ]; do kill -CONT "$@" 2>/dev/null; sleep 0.5; i=$((i+1)); done', pids.map(String));
  return () => {
    process.off("beforeExit", guard);
    disarm();
  };
}

export {
  errorLines,
  readLog,
  describeFailure,
  runImageRequest,
  failureError,
  afterThisProcessDies,
  resumeTreeIfThisProcessDies
};
