// A container's stdio: pipes, never host files (CRIU cannot dump a container whose stdout is a
// file or a named FIFO of the host: "Can't lookup mount"), drained into its log file by a
// small detached relay, as conmon does for Podman. runc hands the same pipes to a restore.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { native } from '../native/binding.js';

export interface ContainerStdio {
  /** stdin (a pipe at end of file), stdout and stderr (one pipe to the relay). */
  fds: [number, number, number];
  /** Closes our copies once runc has started (the container holds its own). */
  close(): void;
}

export function logRelay(logFile: string): ContainerStdio {
  const [stdinRead, stdinWrite] = native().pipe();
  closeSync(stdinWrite);
  const [outRead, outWrite] = native().pipe();
  const logFd = openSync(logFile, 'a', 0o600);
  try {
    // `cat` ends by itself once every writer (the container, runc) has closed the pipe.
    const relay = spawn('cat', [], { stdio: [outRead, logFd, 'ignore'], detached: true });
    relay.on('error', () => {}); // without a relay the container's writes fail with EPIPE only
    relay.unref();
  } finally {
    closeSync(logFd);
    closeSync(outRead);
  }
  return {
    fds: [stdinRead, outWrite, outWrite],
    close() {
      closeSync(stdinRead);
      closeSync(outWrite);
    },
  };
}
