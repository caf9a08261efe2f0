#!/usr/bin/env node
// The bundled CLI when it was built (npm run build:ts makes it: faster to start), else the modules.
// `--version` alone needs none of it: it answers from package.json.
import { existsSync, readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const bundled = new URL('../lib/cli-bundle/main.js', import.meta.url);
  const { main } = await import(existsSync(bundled) ? bundled.href : '../lib/cli/main.js');
  process.exitCode = await main(argv);
}
