// How this command's node started. The freezedry command is bin/freezedry, a shell launcher: it
// starts node from the CLI's V8 start-up snapshot (lib/cli-snapshot, which
// scripts/build-cli-snapshot.mjs builds for the node on PATH), which holds every command's
// modules already loaded, and it hides NODE_EXTRA_CA_CERTS from node's start: node reads and
// parses that whole file as it starts (about 55 ms here) for TLS roots no command uses. Both
// halve a short command's time.
import { readFileSync } from 'node:fs';
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

/** `freezedry check`'s line on how commands start. */
export function startUpCheck(packageRoot = cliPackageRoot()): CheckItem {
  const title = 'CLI start-up snapshot (a command starts in about half the time)';
  if (fromSnapshot) return { id: 'cli-snapshot', title, status: 'ok', detail: `in use: ${snapshotFiles(packageRoot).blob}` };
  let builtFor: string[] | undefined;
  try {
    builtFor = readFileSync(snapshotFiles(packageRoot).builtFor, 'utf8').split('\n');
  } catch {
    // not built
  }
  const detail = !builtFor
    ? 'not built'
    : builtFor[1] !== path.resolve(packageRoot)
      ? `built for ${builtFor[1]}, not this directory`
      : `not in use: this command ran as 'node bin/freezedry.js', or with another node than ${builtFor[0]}, or the snapshot is older than that node`;
  return {
    id: 'cli-snapshot',
    title,
    status: 'warn',
    detail,
    fix: "run commands as 'freezedry' (bin/freezedry), with the node that 'npm run build:ts' (which builds the snapshot) ran with",
  };
}
