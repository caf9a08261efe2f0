// Driving runc, the container engine: finding it, running it with the project's CRIU first on
// its PATH (runc runs the `criu` it finds there; only runc's own environment changes), and
// turning its failures into coded errors that quote what it said.
import { accessSync, closeSync, constants, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { rememberedFact } from '../binary-facts.js';
import { command } from '../process/command.js';
import { processTree, signalEach, waitUntilGone } from '../process/proc.js';
import { ErrorCode, FreezedryError, abortError, type ErrorCodeValue } from '../errors.js';
import { criuEnvironment, locateCriu } from '../criu/locate.js';
import { describeFailure, errorLines, readLog } from '../criu/log.js';
import { native } from '../native/binding.js';

export const DEFAULT_RUNC_ROOT = '/run/runc';
const MIN_VERSION = [1, 1] as const;
/**
 * The fd a page sink's socket has in runc and in the CRIU it runs: runc gives its CRIU its own
 * socket as fd 3 (and Go keeps the fds it opens from being inherited); one above those passes through.
 */
const PAGE_SERVER_FD = 9;

export interface RuncState {
  id: string;
  pid: number;
  status: 'created' | 'running' | 'paused' | 'stopped' | string;
  bundle: string;
  rootfs: string;
  created: string;
}

export interface RuncOptions {
  /** runc's state directory (runc --root); default /run/runc. */
  runcRoot?: string;
  /** The CRIU runc should run (default: freezedry's own, as for processes). */
  criu?: string;
}

type Stdio = 'ignore' | 'pipe' | number;

export interface RuncCall {
  args: string[];
  stdio?: [Stdio, Stdio, Stdio];
  /** Called with runc's pid as soon as it runs (to recognise its CRIU's connections). */
  onSpawn?: (pid: number) => void;
  /** A pipe as runc's fd 3 (for --status-fd 3), handed over as runc starts. */
  onStatus?: (status: Readable) => void;
  /** Lines of a configuration file for the CRIU runc runs (`address 127.0.0.1`): options runc has no flag for. */
  criuConfig?: string[];
  /** A shell script for that CRIU to run at each step (its `action-script`, beside runc's own notifications). */
  criuActionScript?: string;
  /** Variables added to runc's environment (which its CRIU, and CRIU's action script, inherit). */
  env?: Record<string, string>;
  /**
   * A page sink's socket for runc's CRIU, taken over (closed here once runc has it). runc only
   * passes on an address (`--page-server`, which the call must still give so that CRIU sends its
   * pages to a page server at all); its CRIU inherits this instead, as fd PAGE_SERVER_FD, and its
   * configuration says to use it: a Unix socket, private to it, carries pages faster than loopback TCP.
   */
  pageServerSocket?: number;
  signal?: AbortSignal;
}

export class Runc {
  readonly path: string;
  readonly root: string;
  readonly version: string;
  private readonly criuDir: string;

  private constructor(runcPath: string, root: string, version: string, criuDir: string) {
    this.path = runcPath;
    this.root = root;
    this.version = version;
    this.criuDir = criuDir;
  }

  static async open(options: RuncOptions = {}): Promise<Runc> {
    const runcPath = locateRunc();
    const parse = (said: string) => {
      const found = /runc version (\d+)\.(\d+)\.(\d+)/.exec(said);
      if (!found) throw new FreezedryError(ErrorCode.RUNC_NOT_FOUND, `${runcPath} did not report a runc version (it said: ${said.trim() || 'nothing'})`);
      return found;
    };
    // Parsed before it is remembered (an answer without a version is not kept), and again as read back.
    const said = await rememberedFact('runc-version', runcPath, async () => {
      const { stdout } = await command(runcPath, ['--version'], { reject: false });
      parse(stdout);
      return stdout;
    });
    const version = parse(String(said));
    const [major, minor] = [Number(version[1]), Number(version[2])];
    if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
      throw new FreezedryError(
        ErrorCode.RUNC_TOO_OLD,
        `${runcPath} is runc ${version[1]}.${version[2]}.${version[3]}; freezedry needs runc ${MIN_VERSION.join('.')} or newer`,
      );
    }
    return new Runc(runcPath, path.resolve(options.runcRoot ?? DEFAULT_RUNC_ROOT), `${major}.${minor}.${version[3]}`, criuDirFor(locateCriu(options.criu)));
  }

  /** Runs runc; a failure is a coded error quoting runc's own last error line. */
  async exec(what: string, call: RuncCall, code: ErrorCodeValue = ErrorCode.RUNC_FAILED): Promise<string> {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'freezedry-runc-'));
    const logFile = path.join(logDir, 'runc.log');
    try {
      // runc wants a status fd opened for writing, which Node's own extra pipes are not.
      const status = call.onStatus ? native().pipe() : undefined;
      let criuConfig: string | undefined;
      const configLines = [...(call.criuConfig ?? []), ...(call.pageServerSocket !== undefined ? [`ps-socket ${PAGE_SERVER_FD}`] : [])];
      if (call.criuActionScript !== undefined) {
        const script = path.join(logDir, 'criu-action.sh');
        writeFileSync(script, call.criuActionScript, { mode: 0o700 });
        configLines.push(`action-script ${script}`);
      }
      if (configLines.length > 0) {
        criuConfig = path.join(logDir, 'criu.conf');
        writeFileSync(criuConfig, `${configLines.join('\n')}\n`);
      }
      const stdio: Stdio[] = [...(call.stdio ?? ['ignore', 'pipe', 'pipe']), ...(status ? [status[1]] : [])];
      if (call.pageServerSocket !== undefined) {
        while (stdio.length < PAGE_SERVER_FD) stdio.push('ignore');
        stdio.push(call.pageServerSocket);
      }
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(this.path, ['--root', this.root, '--log', logFile, '--log-format', 'json', ...call.args], {
          env: {
            ...process.env,
            ...criuEnvironment(),
            ...call.env,
            ...(criuConfig ? { CRIU_CONFIG_FILE: criuConfig } : {}),
            PATH: `${this.criuDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
          },
          stdio,
          signal: call.signal,
        });
      } finally {
        if (call.pageServerSocket !== undefined) closeSync(call.pageServerSocket);
      }
      if (child.pid !== undefined) call.onSpawn?.(child.pid);
      if (status) {
        closeSync(status[1]);
        // Read as a socket: a file stream would hold a thread of libuv's pool in read() until runc ends.
        call.onStatus?.(new Socket({ fd: status[0], readable: true, writable: false }));
      }
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exitCode = await new Promise<number | null>((resolve) => {
        child.once('error', () => resolve(null));
        child.once('close', (status) => resolve(status));
      });
      if (exitCode === 0) return stdout;
      if (call.signal?.aborted) throw abortError(call.signal);
      const said = lastError(logFile) ?? stderr.trim();
      throw runcError(what, said, code);
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  }

  /** The container's state, or undefined when runc has no container of that ID. */
  async state(id: string): Promise<RuncState | undefined> {
    const result = await command(this.path, ['--root', this.root, 'state', id], { reject: false });
    if (result.exitCode !== 0) {
      if (/does not exist|not exist/.test(result.stderr)) return undefined;
      throw runcError(`runc state ${id}`, result.stderr.trim(), ErrorCode.RUNC_FAILED);
    }
    return JSON.parse(result.stdout) as RuncState;
  }

  /** The container's state; ERR_NO_SUCH_CONTAINER when there is none. */
  async existing(id: string): Promise<RuncState> {
    const state = await this.state(id);
    if (!state) {
      throw new FreezedryError(ErrorCode.NO_SUCH_CONTAINER, `No container '${id}' (runc root ${this.root})`, { id, runcRoot: this.root });
    }
    return state;
  }

  async list(): Promise<RuncState[]> {
    const out = await this.exec('runc list', { args: ['list', '--format', 'json'] });
    return (JSON.parse(out || 'null') as RuncState[] | null) ?? [];
  }

  /**
   * Stops (SIGKILL) and deletes the container; nothing if it is gone already. `paused`: the
   * tasks of a container the caller paused itself (none can have been added since), which spares
   * asking runc for its state.
   */
  async destroy(id: string, paused?: { pids: number[] }): Promise<void> {
    const state = paused ? { status: 'paused', pids: paused.pids } : await this.state(id);
    if (!state) return;
    // `runc delete --force` waits for its kill in sleeps of 100 ms. The tree killed here first
    // (a paused one thawed only with the kill pending, so none of its code runs again) is
    // deleted as a stopped container, about 90 ms sooner; --force still ends any stragglers.
    if (state.status === 'running' || state.status === 'paused') {
      const pids = 'pids' in state ? state.pids : processTree(state.pid);
      signalEach(pids, 'SIGKILL');
      if (state.status === 'paused') await this.exec(`runc resume ${id}`, { args: ['resume', id] }).catch(() => {});
      await waitUntilGone(pids, 2000, { zombiesGone: true });
    }
    await this.exec(`runc delete -f ${id}`, { args: ['delete', '--force', id] });
  }
}

export function locateRunc(): string {
  const named = process.env.FREEZEDRY_RUNC;
  const candidates = named ? [named] : [...(process.env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, 'runc')), '/usr/sbin/runc', '/usr/bin/runc'];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new FreezedryError(
    ErrorCode.RUNC_NOT_FOUND,
    named
      ? `runc not found at ${named} (named by FREEZEDRY_RUNC)`
      : "runc not found on PATH, /usr/sbin or /usr/bin: install it ('apt-get install --no-install-recommends runc', or 'npm run provision')",
  );
}

const criuDirs = new Map<string, string>();

/** A directory whose `criu` is the given binary (its own directory when it is named criu; one per binary). */
function criuDirFor(criuPath: string): string {
  if (path.basename(criuPath) === 'criu') return path.dirname(path.resolve(criuPath));
  let dir = criuDirs.get(criuPath);
  if (!dir) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'freezedry-criu-bin-'));
    symlinkSync(path.resolve(criuPath), path.join(dir, 'criu'));
    criuDirs.set(criuPath, dir);
  }
  return dir;
}

/** runc's last error message from its JSON log. */
function lastError(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  const messages = text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as { level?: string; msg?: string };
      } catch {
        return { level: 'error', msg: line };
      }
    })
    .filter((entry) => entry.level === 'error' || entry.level === 'fatal')
    .map((entry) => entry.msg ?? '');
  return messages.length > 0 ? messages.join('; ') : undefined;
}

/**
 * A failed runc checkpoint or restore, with the error lines of its CRIU's log when there are
 * any (runc itself only says "criu failed"), under `code` (default: the error's own).
 */
export async function withCriuErrors(error: unknown, logFile: string, code?: ErrorCodeValue): Promise<unknown> {
  if (!(error instanceof FreezedryError)) return error;
  const lines = errorLines(await readLog(logFile));
  if (lines.length === 0) return error;
  return new FreezedryError(code ?? error.code, `${error.message}: ${describeFailure(lines, logFile)}`, { cause: error, criuErrors: lines, logFile });
}

function runcError(what: string, said: string, code: ErrorCodeValue): FreezedryError {
  return new FreezedryError(code, `${what} failed: ${said || 'runc gave no reason'}`, { runcMessage: said });
}
