// Errors the addon throws (a SysError shape: an errno name in `code`, the failing operation and
// what it was about in `detail`), turned into coded FreezedryErrors: the one place that says
// what an errno means for each native object.
import { ErrorCode, FreezedryError } from '../errors.js';

interface NativeFailure {
  code?: string;
  detail?: string;
  message?: string;
}

/** A failed write of an archive or image file: ENOSPC is the disk being full. */
export function writeError(cause: unknown, file: string): FreezedryError {
  if ((cause as NativeFailure).code === 'ENOSPC') {
    return new FreezedryError(ErrorCode.NO_SPACE, `No space left on the device holding ${file}`, { cause, path: file });
  }
  return new FreezedryError(ErrorCode.PAGE_SINK_FAILED, `Writing ${file} failed: ${(cause as Error).message}`, { cause, path: file });
}

/**
 * The archive reader's failures: ENOEXEC not an archive, ENODATA truncated, EBADMSG a frame that
 * fails to decompress or its checksum (named by the entry whose data `stream offset` falls in),
 * ENOSPC the disk an entry was unpacked to. Anything else is passed on as it is.
 */
export function archiveReadError(error: unknown, file: string, entries: { name: string; dataOffset: number }[], target?: string): unknown {
  if (error instanceof FreezedryError) return error;
  const e = error as NativeFailure;
  const detail = e.detail ?? e.message ?? String(error);
  switch (e.code) {
    case 'ENOEXEC':
      return new FreezedryError(ErrorCode.ARCHIVE_FORMAT, `${file}: ${detail}`, { cause: error, path: file });
    case 'ENODATA':
      return new FreezedryError(ErrorCode.ARCHIVE_TRUNCATED, `${file}: ${detail}`, { cause: error, path: file });
    case 'EBADMSG': {
      const at = Number(detail.match(/stream offset (\d+)/)?.[1] ?? -1);
      const entry = [...entries].reverse().find((candidate) => candidate.dataOffset - TAR_BLOCK <= at);
      const which = entry ? `entry ${entry.name} is corrupt` : 'corrupt data';
      return new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${file}: ${which}: ${detail}`, { cause: error, path: file, entry: entry?.name });
    }
    case 'ENOSPC':
      return writeError(error, target ?? file);
    default:
      return error;
  }
}
const TAR_BLOCK = 512;

// What the kernel says when it lacks the tracker's features (old uffd API, no PAGEMAP_SCAN).
const MISSING_FEATURE = ['ENOSYS', 'EINVAL', 'ENOTTY', 'EOPNOTSUPP', 'ENOPROTOOPT'];

/** The dirty tracker's attach failure under the code its errno means (only a missing feature is "Linux 6.7+"). */
export function trackerAttachError(pid: number, cause: unknown): FreezedryError {
  const code = (cause as NativeFailure).code ?? '';
  const said = `cannot track writes of pid ${pid}: ${(cause as Error).message}`;
  if (code === 'ESRCH') return new FreezedryError(ErrorCode.NO_SUCH_PROCESS, said, { cause, pid });
  if (MISSING_FEATURE.includes(code)) {
    return new FreezedryError(ErrorCode.KERNEL_FEATURE_MISSING, `${said} (needs userfaultfd write-protect with UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN, Linux 6.7+)`, { cause, pid });
  }
  // EPERM, EBUSY (another tracer), seccomp forbidding userfaultfd in the target…: not the kernel's age.
  return new FreezedryError(ErrorCode.NOT_PERMITTED, said, { cause, pid });
}
