// runContainer(), listContainers(), removeContainer(): containers to checkpoint, started with
// runc from a bundle freezedry makes (an overlay over a read-only rootfs), and any other runc
// container under the same runc root.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorCode, FreezedryError, ValidationError, abortError } from '../errors.js';
import { assertRoot } from '../process/privileges.js';
import { assertRootfs, bundleOf, createBundle, listRecords, readRecord, removeBundle, validateContainerId, type Bundle, type ContainerRecord } from './bundle.js';
import { Runc, type RuncOptions, type RuncState } from './runc.js';
import { containerSpec } from './spec.js';
import { logRelay } from './stdio.js';

export interface RunContainerOptions extends RuncOptions {
  /** The read-only rootfs the container's overlay lies over. */
  rootfs: string;
  /** Its ID (default: fd- and 8 random hex digits). */
  id?: string;
  /** A network namespace of its own (loopback only); by default it shares the host's. */
  net?: boolean;
  env?: Record<string, string>;
  cwd?: string;
}

export interface ContainerInfo {
  id: string;
  /** Host pid of its init; 0 when it is not running. */
  pid: number;
  /** runc's status, or 'absent' for a freezedry bundle runc no longer knows (checkpointed and stopped). */
  status: string;
  bundle: string;
  /** Whether freezedry made its bundle (an overlay whose changes it can archive). */
  managed: boolean;
  logFile?: string;
  lowerDir?: string;
  createdAt?: string;
}

export async function runContainer(command: string[], options: RunContainerOptions): Promise<ContainerInfo> {
  if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'runContainer needs a command: a non-empty array of non-empty strings');
  }
  const id = options?.id ?? `fd-${randomBytes(4).toString('hex')}`;
  validateContainerId(id);
  assertRoot('run a container');
  const runc = await Runc.open(options);
  const lowerDir = await assertRootfs(options.rootfs);
  await assertIdFree(runc, id);
  const record: ContainerRecord = { id, createdAt: new Date().toISOString(), lowerDir, net: options.net === true, args: command };
  const spec = containerSpec({ args: command, env: options.env, cwd: options.cwd, hostname: id, net: record.net, nofileLimit: hardNofileLimit() });
  const bundle = await createBundle(record, spec);
  await startInBundle(runc, bundle, ['run', '--detach', '--bundle', bundle.dir, id]);
  return describe(await runc.existing(id), record);
}

/** Runs `runc ARGS` (run or restore) with the container's stdio on a log relay; on failure nothing of it is left. */
export async function startInBundle(runc: Runc, bundle: Pick<Bundle, 'id' | 'logFile'>, args: string[], signal?: AbortSignal): Promise<void> {
  try {
    const stdio = logRelay(bundle.logFile);
    try {
      await runc.exec(`runc ${args[0]} ${bundle.id}`, { args, stdio: stdio.fds, signal });
      // A restore that finished as its requester went away would be a second copy.
      if (signal?.aborted) throw abortError(signal);
    } finally {
      stdio.close();
    }
  } catch (error) {
    await runc.destroy(bundle.id).catch(() => {});
    await removeBundle(bundle.id);
    throw error;
  }
}

export async function assertIdFree(runc: Runc, id: string): Promise<void> {
  if (await runc.state(id)) {
    throw new FreezedryError(ErrorCode.CONTAINER_EXISTS, `The container ID '${id}' is already in use (runc root ${runc.root})`, { id });
  }
}

export async function listContainers(options: RuncOptions = {}): Promise<ContainerInfo[]> {
  assertRoot('list containers');
  const runc = await Runc.open(options);
  const states = await runc.list();
  const records = await listRecords();
  const listed = states.map((state) => describe(state, records.find((r) => r.id === state.id)));
  for (const record of records) {
    if (!states.some((s) => s.id === record.id)) listed.push(describe(undefined, record));
  }
  return listed.sort((a, b) => a.id.localeCompare(b.id));
}

/** Removes a container: runc's state and, for freezedry's own, the bundle. A running one needs force. */
export async function removeContainer(id: string, options: RuncOptions & { force?: boolean } = {}): Promise<ContainerInfo> {
  validateContainerId(id);
  assertRoot('remove a container');
  const runc = await Runc.open(options);
  const state = await runc.state(id);
  const record = readRecord(id);
  if (!state && !record) throw new FreezedryError(ErrorCode.NO_SUCH_CONTAINER, `No container '${id}' (runc root ${runc.root})`, { id });
  if (state && state.status !== 'stopped' && state.status !== 'created' && !options.force) {
    throw new FreezedryError(ErrorCode.CONTAINER_EXISTS, `The container '${id}' is ${state.status}: stop it first, or remove it with force (-f)`, { id });
  }
  const info = describe(state, record);
  await runc.destroy(id);
  if (record) await removeBundle(id);
  return info;
}

function describe(state: RuncState | undefined, record: ContainerRecord | undefined): ContainerInfo {
  const id = (state?.id ?? record?.id) as string;
  return {
    id,
    pid: state?.status === 'running' || state?.status === 'paused' ? state.pid : 0,
    status: state?.status ?? 'absent',
    bundle: state?.bundle ?? bundleOf(id).dir,
    managed: record !== undefined,
    logFile: record ? bundleOf(id).logFile : undefined,
    lowerDir: record?.lowerDir,
    createdAt: record?.createdAt ?? state?.created,
  };
}

/** The hard RLIMIT_NOFILE of this process: a container's rlimit above it fails without CAP_SYS_RESOURCE. */
function hardNofileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+\S+\s+(\S+)/m)?.[1];
  const hard = Number(line);
  return Number.isFinite(hard) && hard > 0 ? hard : 1024;
}
