import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
  get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
}) : x)(function(x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});
var __commonJS = (cb, mod) => function __require2() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// lib/errors.js
var ErrorCode = {
  NO_SUCH_PROCESS: "ERR_NO_SUCH_PROCESS",
  IMAGES_DIR_NOT_EMPTY: "ERR_IMAGES_DIR_NOT_EMPTY",
  IMAGES_MISSING: "ERR_IMAGES_MISSING",
  CRIU_NOT_FOUND: "ERR_CRIU_NOT_FOUND",
  CRIU_TOO_OLD: "ERR_CRIU_TOO_OLD",
  KERNEL_FEATURE_MISSING: "ERR_KERNEL_FEATURE_MISSING",
  CRIU_DUMP_FAILED: "ERR_CRIU_DUMP_FAILED",
  CRIU_RESTORE_FAILED: "ERR_CRIU_RESTORE_FAILED",
  CRIU_CHECK_FAILED: "ERR_CRIU_CHECK_FAILED",
  CRIU_DIED: "ERR_CRIU_DIED",
  CRIU_TIMEOUT: "ERR_CRIU_TIMEOUT",
  CRIU_PROTOCOL: "ERR_CRIU_PROTOCOL",
  PID_IN_USE: "ERR_PID_IN_USE",
  NOTIFICATION_REJECTED: "ERR_NOTIFICATION_REJECTED",
  NOT_PERMITTED: "ERR_NOT_PERMITTED",
  ABORTED: "ABORT_ERR",
  INVALID_ARG_TYPE: "ERR_INVALID_ARG_TYPE",
  INVALID_ARG_VALUE: "ERR_INVALID_ARG_VALUE",
  ADDON_LOAD: "ERR_ADDON_LOAD",
  /** The addon's CRIU channel or dirty tracker used after close() (thrown by native code). */
  CHANNEL_CLOSED: "ERR_CHANNEL_CLOSED",
  TRACKER_CLOSED: "ERR_TRACKER_CLOSED",
  /** Anything not thrown as a FreezedryError: a bug (the CLI prints it under this code). */
  INTERNAL: "ERR_INTERNAL",
  WORKLOAD_START_FAILED: "ERR_WORKLOAD_START_FAILED",
  ARCHIVE_FORMAT: "ERR_ARCHIVE_FORMAT",
  ARCHIVE_TRUNCATED: "ERR_ARCHIVE_TRUNCATED",
  ARCHIVE_CORRUPT: "ERR_ARCHIVE_CORRUPT",
  ARCHIVE_VERSION: "ERR_ARCHIVE_VERSION",
  ARCHIVE_UNSAFE_PATH: "ERR_ARCHIVE_UNSAFE_PATH",
  ARCHIVE_EXISTS: "ERR_ARCHIVE_EXISTS",
  NO_SPACE: "ERR_NO_SPACE",
  PAGE_SINK_FAILED: "ERR_PAGE_SINK_FAILED",
  INCOMPATIBLE_HOST: "ERR_INCOMPATIBLE_HOST",
  CHECKPOINT_NOT_FOUND: "ERR_CHECKPOINT_NOT_FOUND",
  LAZY_FILL_FAILED: "ERR_LAZY_FILL_FAILED",
  RESTORED_TREE_EXITED: "ERR_RESTORED_TREE_EXITED",
  MIGRATION_FAILED: "ERR_MIGRATION_FAILED",
  MIGRATION_PROTOCOL: "ERR_MIGRATION_PROTOCOL",
  AUTH_FAILED: "ERR_AUTH_FAILED",
  NO_SUCH_CONTAINER: "ERR_NO_SUCH_CONTAINER",
  CONTAINER_EXISTS: "ERR_CONTAINER_EXISTS",
  CONTAINER_NOT_RUNNING: "ERR_CONTAINER_NOT_RUNNING",
  RUNC_NOT_FOUND: "ERR_RUNC_NOT_FOUND",
  RUNC_TOO_OLD: "ERR_RUNC_TOO_OLD",
  RUNC_FAILED: "ERR_RUNC_FAILED",
  ROOTFS_MISSING: "ERR_ROOTFS_MISSING",
  ROOTFS_MISMATCH: "ERR_ROOTFS_MISMATCH",
  NOT_A_CONTAINER_CHECKPOINT: "ERR_NOT_A_CONTAINER_CHECKPOINT",
  UNSUPPORTED_CHECKPOINT: "ERR_UNSUPPORTED_CHECKPOINT",
  /** A beforeSnapshot or afterRestore hook threw or timed out. */
  SNAPSHOT_HOOK_FAILED: "ERR_SNAPSHOT_HOOK_FAILED",
  /** snapshot() called while one is in progress, or from a worker thread. */
  SNAPSHOT_BUSY: "ERR_SNAPSHOT_BUSY",
  /** A process that does not take snapshot requests (it never called acceptSnapshotRequests). */
  SNAPSHOT_NOT_ENABLED: "ERR_SNAPSHOT_NOT_ENABLED",
  /** checkpoint() of the calling process or one of its ancestors: snapshot() is the way. */
  SELF_CHECKPOINT: "ERR_SELF_CHECKPOINT"
};
var brand = /* @__PURE__ */ Symbol.for("freezedry.error");
var FreezedryError = class extends Error {
  code;
  logFile;
  criuErrors;
  details;
  constructor(code, message, details = {}) {
    const { cause, logFile, criuErrors, ...rest } = details;
    super(message, cause === void 0 ? void 0 : { cause });
    this.code = code;
    this.logFile = logFile;
    this.criuErrors = criuErrors;
    this.details = rest;
    Object.defineProperty(this, brand, { value: true });
  }
};
Object.defineProperty(FreezedryError.prototype, "name", { value: "FreezedryError" });
var CriuError = class extends FreezedryError {
};
Object.defineProperty(CriuError.prototype, "name", { value: "CriuError" });
var ValidationError = class extends FreezedryError {
};
Object.defineProperty(ValidationError.prototype, "name", { value: "ValidationError" });
function isFreezedryError(value) {
  return typeof value === "object" && value !== null && value[brand] === true;
}
function abortError(signal) {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? "aborted");
  return new FreezedryError(ErrorCode.ABORTED, `The operation was aborted: ${reason}`, { cause: signal.reason });
}
function invalidArg(name, message, value) {
  return new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid ${name}: ${message}`, { argument: name, value });
}
function reportedError(error, details = {}) {
  const known = Object.values(ErrorCode).includes(error.code);
  return new FreezedryError(known ? error.code : ErrorCode.INTERNAL, error.message, details);
}

export {
  __require,
  __commonJS,
  __toESM,
  ErrorCode,
  FreezedryError,
  CriuError,
  ValidationError,
  isFreezedryError,
  abortError,
  invalidArg,
  reportedError
};
