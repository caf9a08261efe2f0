#!/usr/bin/env node
// The bundled CLI when it was built (npm run build:ts makes it: faster to start), else the modules.
import { existsSync } from 'node:fs';

const bundled = new URL('../lib/cli-bundle/main.js', import.meta.url);
const { main } = await import(existsSync(bundled) ? bundled.href : '../lib/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
