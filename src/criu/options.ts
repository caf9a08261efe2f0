// The CRIU options users pass, with criu's names in camelCase, validated and turned into RPC fields.
import { ErrorCode, ValidationError, invalidArg } from '../errors.js';
import type { RpcOptions } from './rpc-schema.js';
import type { NotificationHandler } from './session.js';

/**
 * CRIU's on/off options, the one list the option type, its validation, the RPC fields, the
 * CLI's flags and what a migration carries come from: the option's name, criu's flag, what
 * it does, and whether a migration takes it from the source to the destination's restore.
 */
export const CRIU_SWITCHES = [
  { name: 'tcpEstablished', flag: '--tcp-established', help: 'checkpoint/restore established TCP connections', migrates: true },
  { name: 'shellJob', flag: '--shell-job', help: 'allow a process attached to a terminal, not a session leader', migrates: true },
  { name: 'extUnixSk', flag: '--ext-unix-sk', help: 'allow unix sockets connected outside the tree', migrates: true },
  { name: 'fileLocks', flag: '--file-locks', help: 'checkpoint/restore file locks', migrates: true },
  { name: 'linkRemap', flag: '--link-remap', help: 'allow open files that were unlinked (reopened through links)', migrates: true },
  { name: 'manageCgroups', flag: '--manage-cgroups', help: 'dump/restore cgroups', migrates: false },
] as const;

export type CriuSwitch = (typeof CRIU_SWITCHES)[number]['name'];

/** The CRIU flags a migration carries from the source to the destination's restore. */
export type MigrationSwitch = Extract<(typeof CRIU_SWITCHES)[number], { migrates: true }>['name'];
export const MIGRATION_FLAGS = CRIU_SWITCHES.filter((s) => s.migrates).map((s) => s.name) as MigrationSwitch[];

/** Each switch of CRIU_SWITCHES (criu's flag of the same name), on or off. */
export type CriuOptions = { [K in CriuSwitch]?: boolean } & CriuSettings;

export interface CriuSettings {
  /**
   * How CRIU keeps the network quiet while a tree with TCP connections is frozen (criu
   * --network-lock): iptables (CRIU's default) spawns iptables-restore; nftables, done inside
   * CRIU, is faster (needs a CRIU built with libnftables, as the provisioned one is).
   */
  networkLock?: 'iptables' | 'nftables' | 'skip';
  /** External resources (criu --external), e.g. "mnt[/path]:key". */
  external?: string[];
  /** CRIU's log verbosity, 0 (none) to 4 (debug); default 2 as criu's. */
  logLevel?: 0 | 1 | 2 | 3 | 4;
  /** Where CRIU keeps its log, statistics and sockets; default: the images directory. */
  workDir?: string;
  /** The criu binary; default: $FREEZEDRY_CRIU, the provisioned one, then PATH. */
  criu?: string;
  /** Called for every CRIU notification; CRIU waits for it, and a rejection aborts the operation. */
  onNotification?: NotificationHandler;
  /** Aborts at the next point where CRIU can stop cleanly (the process is never left frozen). */
  signal?: AbortSignal;
  /** Kills CRIU if the operation takes longer than this (last resort; default: none). */
  timeoutMs?: number;
}

/** criu_network_lock_method in CRIU's rpc.proto. */
const NETWORK_LOCK = { iptables: 1, nftables: 2, skip: 3 } as const;

export function validateCriuOptions(options: CriuOptions): void {
  for (const { name: flag } of CRIU_SWITCHES) {
    const value = options[flag];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, `${flag} must be a boolean, got ${typeof value}`);
    }
  }
  if (options.logLevel !== undefined && ![0, 1, 2, 3, 4].includes(options.logLevel)) {
    throw invalidArg('logLevel', 'must be an integer from 0 to 4', options.logLevel);
  }
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw invalidArg('timeoutMs', 'must be a positive number of milliseconds', options.timeoutMs);
  }
  if (options.external !== undefined && !(Array.isArray(options.external) && options.external.every((e) => typeof e === 'string'))) {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, 'external must be an array of strings');
  }
  if (options.networkLock !== undefined && !(options.networkLock in NETWORK_LOCK)) {
    throw invalidArg('networkLock', "must be 'iptables', 'nftables' or 'skip'", options.networkLock);
  }
  if (options.onNotification !== undefined && typeof options.onNotification !== 'function') {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, 'onNotification must be a function');
  }
}

/** The RPC fields shared by dump and restore. */
export function commonRpcOptions(options: CriuOptions): Partial<RpcOptions> {
  return {
    ...Object.fromEntries(CRIU_SWITCHES.map(({ name }) => [name, options[name]])),
    external: options.external,
    networkLock: options.networkLock ? NETWORK_LOCK[options.networkLock] : undefined,
    logLevel: options.logLevel ?? 2,
    // Each notification is a round trip CRIU waits on: ask for them only when someone listens
    // (a handler, or an abort signal, which takes effect at the next one).
    notifyScripts: options.onNotification !== undefined || options.signal !== undefined,
  };
}


/**
 * Only the CRIU options a migration carries (never a binary, a directory or a log level): what
 * a source sends, and all a destination takes from what it received.
 */
export function migrationCriuOptions(given: unknown): CriuOptions {
  const from = (given ?? {}) as Record<string, unknown>;
  const picked: CriuOptions = {};
  for (const flag of MIGRATION_FLAGS) {
    if (from[flag] === true) picked[flag] = true;
  }
  if (from.networkLock === 'iptables' || from.networkLock === 'nftables') picked.networkLock = from.networkLock;
  return picked;
}

export function validatePid(pid: unknown): number {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) {
    throw invalidArg('pid', 'must be a positive integer', pid);
  }
  return pid;
}

export function validateDir(name: string, dir: unknown): string {
  if (typeof dir !== 'string' || dir.length === 0) throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, `${name} must be a non-empty path`);
  return dir;
}
