import { ErrorCode, FreezedryError } from '../errors.js';

/** CRIU needs root (or CAP_CHECKPOINT_RESTORE with extra setup freezedry does not do). */
export function assertRoot(operation: string): void {
  if (process.getuid?.() !== 0) {
    throw new FreezedryError(ErrorCode.NOT_PERMITTED, `${operation} needs root: CRIU must ptrace and restore any process (run as root or with sudo)`);
  }
}
