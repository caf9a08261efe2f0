// Builds the CLI's V8 start-up snapshot, lib/cli-snapshot/cli.blob, from lib/cli-snapshot/cli.cjs
// (scripts/bundle-cli.mjs makes that file, and the npm package ships it) with the node running
// this script, for this directory: built-for names both, and bin/freezedry uses the snapshot only
// for them. `npm run build:ts` and the package's install run it. Without a snapshot commands
// still run, from lib/cli-bundle, only slower to start, so this never fails.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const dir = `${root}/lib/cli-snapshot`;
const blob = `${dir}/cli.blob`;
const builtFor = `${dir}/built-for`;
rmSync(blob, { force: true });
rmSync(builtFor, { force: true });
// A checkout before its first build (npm install runs this too) has nothing to build from yet.
if (!existsSync(`${dir}/cli.cjs`)) process.exit(0);
try {
  execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', `${dir}/cli.cjs`], { stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(builtFor, `${process.execPath}\n${root}\n`);
} catch (error) {
  rmSync(blob, { force: true });
  const why = error.stderr?.toString().trim().split('\n').at(-1) || error.message;
  process.stderr.write(`freezedry: no start-up snapshot for the CLI (commands start from lib/cli-bundle, slower): ${why}\n`);
}
