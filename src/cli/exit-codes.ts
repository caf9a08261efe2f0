// Exit statuses of the CLI, one per error code (documented in the README).
import { ErrorCode, type ErrorCodeValue } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const EXIT_CODES: Record<ErrorCodeValue, number> = {
  [ErrorCode.INVALID_ARG_TYPE]: EXIT_USAGE,
  [ErrorCode.INVALID_ARG_VALUE]: EXIT_USAGE,
  // A bug of ours (EX_SOFTWARE).
  [ErrorCode.CHANNEL_CLOSED]: 70,
  [ErrorCode.TRACKER_CLOSED]: 70,
  [ErrorCode.INTERNAL]: 70,
  [ErrorCode.NO_SUCH_PROCESS]: 3,
  [ErrorCode.IMAGES_DIR_NOT_EMPTY]: 4,
  [ErrorCode.IMAGES_MISSING]: 4,
  [ErrorCode.CRIU_NOT_FOUND]: 5,
  [ErrorCode.CRIU_TOO_OLD]: 5,
  [ErrorCode.KERNEL_FEATURE_MISSING]: 6,
  [ErrorCode.CRIU_CHECK_FAILED]: 6,
  [ErrorCode.CRIU_DUMP_FAILED]: 7,
  [ErrorCode.CRIU_RESTORE_FAILED]: 8,
  [ErrorCode.PID_IN_USE]: 9,
  [ErrorCode.CRIU_DIED]: 10,
  [ErrorCode.CRIU_TIMEOUT]: 10,
  [ErrorCode.CRIU_PROTOCOL]: 10,
  [ErrorCode.NOTIFICATION_REJECTED]: 11,
  [ErrorCode.NOT_PERMITTED]: 12,
  [ErrorCode.WORKLOAD_START_FAILED]: 13,
  [ErrorCode.ADDON_LOAD]: 14,
  [ErrorCode.ARCHIVE_FORMAT]: 15,
  [ErrorCode.ARCHIVE_TRUNCATED]: 15,
  [ErrorCode.ARCHIVE_CORRUPT]: 15,
  [ErrorCode.ARCHIVE_VERSION]: 15,
  [ErrorCode.ARCHIVE_UNSAFE_PATH]: 15,
  [ErrorCode.ARCHIVE_EXISTS]: 4,
  [ErrorCode.NO_SPACE]: 16,
  [ErrorCode.PAGE_SINK_FAILED]: 7,
  [ErrorCode.INCOMPATIBLE_HOST]: 17,
  [ErrorCode.CHECKPOINT_NOT_FOUND]: 4,
  [ErrorCode.LAZY_FILL_FAILED]: 18,
  [ErrorCode.MIGRATION_FAILED]: 19,
  [ErrorCode.MIGRATION_PROTOCOL]: 19,
  [ErrorCode.AUTH_FAILED]: 20,
  [ErrorCode.RESTORED_TREE_EXITED]: 21,
  [ErrorCode.NO_SUCH_CONTAINER]: 22,
  [ErrorCode.CONTAINER_NOT_RUNNING]: 22,
  [ErrorCode.CONTAINER_EXISTS]: 23,
  [ErrorCode.RUNC_NOT_FOUND]: 24,
  [ErrorCode.RUNC_TOO_OLD]: 24,
  [ErrorCode.RUNC_FAILED]: 25,
  [ErrorCode.ROOTFS_MISSING]: 26,
  [ErrorCode.ROOTFS_MISMATCH]: 26,
  [ErrorCode.NOT_A_CONTAINER_CHECKPOINT]: 15,
  [ErrorCode.UNSUPPORTED_CHECKPOINT]: 27,
  [ErrorCode.SNAPSHOT_HOOK_FAILED]: 28,
  [ErrorCode.SNAPSHOT_BUSY]: 29,
  [ErrorCode.SNAPSHOT_NOT_ENABLED]: 29,
  [ErrorCode.SELF_CHECKPOINT]: EXIT_USAGE,
  [ErrorCode.ABORTED]: 130,
};

export function exitCodeFor(code: string | undefined): number {
  return (code && EXIT_CODES[code as ErrorCodeValue]) || EXIT_FAILURE;
}

export function exitCodeTable(): [string, number][] {
  return Object.entries(EXIT_CODES);
}
