import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  ErrorCode,
  ValidationError,
  invalidArg
} from "./chunk-KX5PMG5M.js";

// lib/criu/options.js
var CRIU_SWITCHES = [
  { name: "tcpEstablished", flag: "--tcp-established", help: "checkpoint/restore established TCP connections", migrates: true },
  { name: "shellJob", flag: "--shell-job", help: "allow a process attached to a terminal, not a session leader", migrates: true },
  { name: "extUnixSk", flag: "--ext-unix-sk", help: "allow unix sockets connected outside the tree", migrates: true },
  { name: "fileLocks", flag: "--file-locks", help: "checkpoint/restore file locks", migrates: true },
  { name: "linkRemap", flag: "--link-remap", help: "allow open files that were unlinked (reopened through links)", migrates: true },
  { name: "manageCgroups", flag: "--manage-cgroups", help: "dump/restore cgroups", migrates: false }
];
var MIGRATION_FLAGS = CRIU_SWITCHES.filter((s) => s.migrates).map((s) => s.name);
var NETWORK_LOCK = { iptables: 1, nftables: 2, skip: 3 };
function validateCriuOptions(options) {
  for (const { name: flag } of CRIU_SWITCHES) {
    const value = options[flag];
    if (value !== void 0 && typeof value !== "boolean") {
      throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, `${flag} must be a boolean, got ${typeof value}`);
    }
  }
  if (options.logLevel !== void 0 && ![0, 1, 2, 3, 4].includes(options.logLevel)) {
    throw invalidArg("logLevel", "must be an integer from 0 to 4", options.logLevel);
  }
  if (options.timeoutMs !== void 0 && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw invalidArg("timeoutMs", "must be a positive number of milliseconds", options.timeoutMs);
  }
  if (options.external !== void 0 && !(Array.isArray(options.external) && options.external.every((e) => typeof e === "string"))) {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, "external must be an array of strings");
  }
  if (options.networkLock !== void 0 && !(options.networkLock in NETWORK_LOCK)) {
    throw invalidArg("networkLock", "must be 'iptables', 'nftables' or 'skip'", options.networkLock);
  }
  if (options.onNotification !== void 0 && typeof options.onNotification !== "function") {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, "onNotification must be a function");
  }
}
function commonRpcOptions(options) {
  return {
    ...Object.fromEntries(CRIU_SWITCHES.map(({ name }) => [name, options[name]])),
    external: options.external,
    networkLock: options.networkLock ? NETWORK_LOCK[options.networkLock] : void 0,
    logLevel: options.logLevel ?? 2,
    // Each notification is a round trip CRIU waits on: ask for them only when someone listens
    // (a handler, or an abort signal, which takes effect at the next one).
    notifyScripts: options.onNotification !== void 0 || options.signal !== void 0
  };
}
function migrationCriuOptions(given) {
  const from = given ?? {};
  const picked = {};
  for (const flag of MIGRATION_FLAGS) {
    if (from[flag] === true)
      picked[flag] = true;
  }
  if (from.networkLock === "iptables" || from.networkLock === "nftables")
    picked.networkLock = from.networkLock;
  return picked;
}
function validatePid(pid) {
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) {
    throw invalidArg("pid", "must be a positive integer", pid);
  }
  return pid;
}
function validateDir(name, dir) {
  if (typeof dir !== "string" || dir.length === 0)
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, `${name} must be a non-empty path`);
  return dir;
}

export {
  CRIU_SWITCHES,
  MIGRATION_FLAGS,
  validateCriuOptions,
  commonRpcOptions,
  migrationCriuOptions,
  validatePid,
  validateDir
};
