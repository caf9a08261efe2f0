// Bundles the compiled CLI (lib/cli/main.js) into lib/cli-bundle/: a few files instead of the
// ~60 modules Node's ESM loader would resolve and read one by one at every start. Each
// command's lazily imported modules stay in chunks of their own, loaded when it runs.
// bin/freezedry.js uses the bundle when it is there (it is built with the TypeScript).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}lib/cli-bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${root}lib/cli/main.js`],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Loaded at run time through require: the addon's loader, and cli-progress (only on a terminal).
  external: ['node-gyp-build', 'cli-progress'],
  // CommonJS dependencies (protobufjs, commander) call require(): give the bundle one.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
  logLevel: 'warning',
});
