// The lifecycle hooks of a self-snapshot, as OpenJDK CRaC's resources: beforeSnapshot hooks close
// what must not be captured or shared (connections, listeners, timers), afterRestore hooks
// reopen it and re-seed what must differ per copy. Before-hooks run last-registered first,
// after-hooks in registration order, so what was opened last is closed first.
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';

export interface RestoreContext {
  /** false in the original (after its snapshot, or after a failed one), true in every copy. */
  restored: boolean;
  /** The variables the restore passed (`restore --env`); already merged into process.env. */
  env: Record<string, string>;
  /** In a copy: its pid on the host (its own pid namespace sees the original's pid). */
  hostPid?: number;
}

export interface HookOptions {
  /** How long the hook may take before the snapshot (or the copy) fails; default 10 s. */
  timeoutMs?: number;
  /** A name for error messages; default the function's name. */
  name?: string;
}

type BeforeHook = () => unknown;
type AfterHook = (context: RestoreContext) => unknown;

interface Registration<F> {
  fn: F;
  name: string;
  timeoutMs: number;
}

const DEFAULT_HOOK_TIMEOUT_MS = 10_000;
const before: Registration<BeforeHook>[] = [];
const after: Registration<AfterHook>[] = [];

function register<F extends (...args: never[]) => unknown>(list: Registration<F>[], fn: F, options: HookOptions): () => void {
  if (typeof fn !== 'function') throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, 'a snapshot hook must be a function');
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid timeoutMs: must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  const registration = { fn, name: options.name ?? (fn.name || `hook ${list.length + 1}`), timeoutMs };
  list.push(registration);
  return () => {
    const at = list.indexOf(registration);
    if (at >= 0) list.splice(at, 1);
  };
}

/** Runs before every snapshot of this process; returns a function that unregisters it. */
export function beforeSnapshot(fn: BeforeHook, options: HookOptions = {}): () => void {
  return register(before, fn, options);
}

/**
 * Runs in every copy restored from a snapshot of this process, and in the original once its
 * snapshot is over (succeeded or not): `context.restored` tells them apart.
 */
export function afterRestore(fn: AfterHook, options: HookOptions = {}): () => void {
  return register(after, fn, options);
}

async function runOne<F extends (...args: never[]) => unknown>(hook: Registration<F>, phase: string, args: Parameters<F>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FreezedryError(ErrorCode.SNAPSHOT_HOOK_FAILED, `the ${phase} hook '${hook.name}' did not finish within ${hook.timeoutMs} ms`, { hook: hook.name, phase })),
      hook.timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.resolve().then(() => hook.fn(...args)), timeout]);
  } catch (cause) {
    if (cause instanceof FreezedryError && cause.code === ErrorCode.SNAPSHOT_HOOK_FAILED) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new FreezedryError(ErrorCode.SNAPSHOT_HOOK_FAILED, `the ${phase} hook '${hook.name}' failed: ${message}`, { cause, hook: hook.name, phase });
  } finally {
    clearTimeout(timer);
  }
}

/** The before-hooks, last registered first; stops at the first that fails. */
export async function runBeforeSnapshot(): Promise<void> {
  for (const hook of [...before].reverse()) await runOne(hook, 'beforeSnapshot', []);
}

/**
 * The after-hooks, in registration order. In a copy the first failure stops them (the copy is
 * ended). In the original every hook runs, so that one failing does not keep the others from
 * reopening what they closed; the first failure is thrown after.
 */
export async function runAfterRestore(context: RestoreContext): Promise<void> {
  let failure: unknown;
  for (const hook of [...after]) {
    try {
      await runOne(hook, 'afterRestore', [context]);
    } catch (error) {
      if (context.restored) throw error;
      failure ??= error;
    }
  }
  if (failure) throw failure;
}
