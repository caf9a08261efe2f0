// How this command's node started. The freezedry command is bin/freezedry, a shell launcher: it
// starts node from the CLI's V8 start-up snapshot (lib/cli-snapshot, which
// scripts/build-cli-snapshot.mjs builds for the node on PATH), which holds every command's
// modules already loaded, and it hides NODE_EXTRA_CA_CERTS from node's start: node reads and
// parses that whole file as it starts (about 55 ms here) for TLS roots no command uses. Both
// halve a short command's time.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckItem } from '../check.js';

/** Where the launcher keeps NODE_EXTRA_CA_CERTS while node starts. */
const HIDDEN_CA_CERTS = 'FREEZEDRY_NODE_EXTRA_CA_CERTS';

let fromSnapshot = false;

/** Puts back what the launcher hid from node's start, so that the programs a command starts get the user's environment. */
export function restoreLauncherEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  const hidden = env[HIDDEN_CA_CERTS];
  if (hidden === undefined) return;
  env.NODE_EXTRA_CA_CERTS = hidden;
  delete env[HIDDEN_CA_CERTS];
}

/** Called by the snapshot's entry when node starts from it. */
export function markStartedFromSnapshot(): void {
  fromSnapshot = true;
}

/** The package's directory: two up from lib/cli/, lib/cli-bundle/ and lib/cli-snapshot/ alike. */
export function cliPackageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

/** The snapshot, and the file naming the node and package directory it was built for (one per line). */
export function snapshotFiles(packageRoot = cliPackageRoot()): { blob: string; builtFor: string } {
  const dir = path.join(packageRoot, 'lib', 'cli-snapshot');
  return { blob: path.join(dir, 'cli.blob'), builtFor: path.join(dir, 'built-for') };
}

/** The node and package directory the snapshot was built for, if it was. */
function builtFor(packageRoot: string): [node: string, root: string] | undefined {
  try {
    const [node = '', root = ''] = readFileSync(snapshotFiles(packageRoot).builtFor, 'utf8').split('\n');
    return [node, root];
  } catch {
    return undefined;
  }
}

/**
 * `check --fix`: builds the snapshot for the node running this command and this directory,
 * unless it is built for them and newer than that node. Returns whether it built one.
 */
export function buildSnapshotIfStale(packageRoot = cliPackageRoot()): boolean {
  if (fromSnapshot) return false;
  const root = path.resolve(packageRoot);
  const built = builtFor(packageRoot);
  const fresh = () => {
    try {
      return statSync(snapshotFiles(packageRoot).blob).mtimeMs >= statSync(process.execPath).mtimeMs;
    } catch {
      return false;
    }
  };
  if (built?.[0] === process.execPath && built[1] === root && fresh()) return false;
  spawnSync(process.execPath, [path.join(root, 'scripts', 'build-cli-snapshot.mjs')], { stdio: ['ignore', 2, 2] });
  return builtFor(packageRoot)?.[1] === root;
}

/** `freezedry check`'s line on how commands start; `builtNow` after buildSnapshotIfStale() built one. */
export function startUpCheck(packageRoot = cliPackageRoot(), builtNow = false): CheckItem {
  const title = 'CLI start-up snapshot (a command starts in about half the time)';
  if (fromSnapshot) return { id: 'cli-snapshot', title, status: 'ok', detail: `in use: ${snapshotFiles(packageRoot).blob}` };
  if (builtNow) return { id: 'cli-snapshot', title, status: 'ok', detail: `built for ${process.execPath}: the next command starts from it` };
  const built = builtFor(packageRoot);
  const detail = !built
    ? 'not built'
    : built[1] !== path.resolve(packageRoot)
      ? `built for ${built[1]}, not this directory`
      : `not in use: this command ran as 'node bin/freezedry.js', or with another node than ${built[0]}, or the snapshot is older than that node`;
  return {
    id: 'cli-snapshot',
    title,
    status: 'warn',
    detail,
    fix: "run commands as 'freezedry' (bin/freezedry); 'freezedry check --fix' builds the snapshot for the node running it and this directory",
  };
}
