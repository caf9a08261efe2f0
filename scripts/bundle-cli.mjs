// Bundles the compiled CLI (lib/cli/main.js) into lib/cli-bundle/: a few files instead of the
// ~60 modules Node's ESM loader would resolve and read one by one at every start. Each
// command's lazily imported modules stay in chunks of their own, loaded when it runs.
// bin/freezedry.js uses the bundle when it is there (it is built with the TypeScript).
//
// Then lib/cli-snapshot/cli.cjs, the same code as one CommonJS file, from which
// scripts/build-cli-snapshot.mjs builds the CLI's V8 start-up snapshot (see there).
import { parse } from 'acorn';
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
// cost each command ~3.5 ms to read and deserialize. esbuild escapes them in strings, not in the
// comments it keeps: there (and only there, found by parsing) they are escaped here. One left in
// code (a regex literal, a String.raw template) is kept as it is, with a warning.
function escapeCommentsToAscii(file, sourceType) {
  const text = readFileSync(file, 'utf8');
  if (!/[\u0080-\uffff]/.test(text)) return;
  const comments = [];
  parse(text, { ecmaVersion: 'latest', sourceType, allowHashBang: true, onComment: (_block, _text, start, end) => comments.push([start, end]) });
  let out = '';
  let at = 0;
  for (const [start, end] of comments) {
    out += text.slice(at, start) + text.slice(start, end).replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
    at = end;
  }
  out += text.slice(at);
  const left = out.match(/[\u0100-\uffff]/g)?.length ?? 0;
  if (left > 0) process.stderr.write(`bundle-cli: ${file} keeps ${left} characters beyond Latin-1 outside comments: V8 holds it at two bytes per character\n`);
  if (out !== text) writeFileSync(file, out);
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
for (const file of readdirSync(outdir).filter((name) => name.endsWith('.js'))) escapeCommentsToAscii(`${outdir}/${file}`, 'module');

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
escapeCommentsToAscii(script, 'script');
execFileSync(process.execPath, [`${root}scripts/build-cli-snapshot.mjs`], { stdio: 'inherit' });
