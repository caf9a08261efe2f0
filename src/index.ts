// freezedry's public API.
export { checkpoint, type CheckpointOptions, type CheckpointResult } from './checkpoint.js';
export { restore, type RestoreOptions, type RestoreResult } from './restore.js';
export {
  check,
  features,
  version,
  type CheckItem,
  type CheckReport,
  type CheckStatus,
  type CriuFeatures,
} from './check.js';
export { run, type RunOptions, type RunResult } from './run.js';
export type { CriuOptions } from './criu/options.js';
export type { CriuNotification, NotificationHandler, NotificationName } from './criu/session.js';
export type { CriuVersion } from './criu/version.js';
export type { DumpStats, RestoreStats } from './images/stats.js';
export type { NativeExitStatus as ExitStatus } from './native/binding.js';
export {
  CriuError,
  ErrorCode,
  FreezedryError,
  ValidationError,
  isFreezedryError,
  type ErrorCodeValue,
} from './errors.js';
