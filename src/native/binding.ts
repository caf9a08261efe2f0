// The only loader of the native addon; everything else imports this typed facade.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ErrorCode, FreezedryError } from '../errors.js';

export type ChannelEventHandler = (kind: 'message' | 'closed' | 'error', data?: Buffer | Error, fd?: number) => void;

export interface NativeCriuChannel {
  /** The socket end that `criu swrk` inherits. */
  readonly peerFd: number;
  closePeer(): void;
  send(message: Uint8Array): void;
  /** Keep the event loop alive for this channel's events (while a request is pending). */
  ref(): void;
  unref(): void;
  close(): void;
}

export interface NativeExitStatus {
  reaped: boolean;
  code: number;
  signal: number;
}

export interface NativeExitWatch {
  unref(): void;
  close(): void;
}

export interface NativeBinding {
  CriuChannel: new (onEvent: ChannelEventHandler) => NativeCriuChannel;
  ExitWatch: new (pid: number, onExit: (err: Error | null, status?: NativeExitStatus) => void) => NativeExitWatch;
  errnoName(errno: number): string;
  throwSysError(errno: number): never;
}

/** The package root: src/native and lib/native sit at the same depth. */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

let loaded: NativeBinding | undefined;

export function native(): NativeBinding {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    throw new FreezedryError(ErrorCode.ADDON_LOAD, `freezedry runs on Linux only (this is ${process.platform})`);
  }
  const require = createRequire(import.meta.url);
  try {
    const explicit = process.env.FREEZEDRY_ADDON;
    loaded = (explicit ? require(explicit) : require('node-gyp-build')(packageRoot)) as NativeBinding;
  } catch (cause) {
    throw new FreezedryError(
      ErrorCode.ADDON_LOAD,
      `Cannot load the freezedry addon from ${process.env.FREEZEDRY_ADDON ?? packageRoot}: ` +
        `${(cause as Error).message}. Run 'npm install' (or 'npm run build:native') to build it.`,
      { cause },
    );
  }
  return loaded;
}
