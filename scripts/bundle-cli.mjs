// Bundles the compiled CLI (lib/cli/main.js) into lib/cli-bundle/: a few files instead of the
// ~60 modules Node's ESM loader would resolve and read one by one at every start. Each
// command's lazily imported modules stay in chunks of their own, loaded when it runs.
// bin/freezedry.js uses the bundle when it is there (it is built with the TypeScript).
//
// Then lib/cli-snapshot/cli.cjs, the same code as one CommonJS file, from which
// scripts/build-cli-snapshot.mjs builds the CLI's V8 start-up snapshot (see there).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}lib/cli-bundle`;
// Loaded at run time through require: the addon's loader, and cli-progress (only on a terminal).
const external = ['node-gyp-build', 'cli-progress'];
// V8 keeps a script holding any character beyond Latin-1 at two bytes per character: two such
// characters in comments doubled the snapshot's ~1 MB of source (blob 7.9 MB against 6.9) and
// cost each command ~3.5 ms to read and deserialize. esbuild escapes strings but not comments:
// every non-ASCII character left is escaped here.
function escapeToAscii(file) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(file, ascii);
}

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}lib/cli/main.js`],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // CommonJS dependencies (protobufjs, commander) call require(): give the bundle one.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
  logLevel: 'warning',
});
for (const file of readdirSync(outdir)) escapeToAscii(`${outdir}/${file}`);

const snapshotDir = `${root}lib/cli-snapshot`;
const script = `${snapshotDir}/cli.cjs`;
rmSync(snapshotDir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}lib/cli/snapshot-entry.js`],
  outfile: script,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // vega is an ES module that the bench report imports: the snapshot leaves bench to the bundle.
  external: [...external, 'vega', 'vega-lite'],
  // Where the file is as the snapshot is built (which the package's install does in place): its
  // modules find the package two directories up, as from lib/cli/.
  define: { 'import.meta.url': '__freezedryModuleUrl' },
  banner: { js: "var __freezedryModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
escapeToAscii(script);
execFileSync(process.execPath, [`${root}scripts/build-cli-snapshot.mjs`], { stdio: 'inherit' });
