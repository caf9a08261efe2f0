// The entry of the CLI's V8 start-up snapshot. scripts/bundle-cli.mjs bundles it into one
// CommonJS file and scripts/build-cli-snapshot.mjs runs `node --build-snapshot` on that: every
// command's modules are loaded then and the command line's program built, and main() runs when
// bin/freezedry starts node from the blob. Node cannot import() an ES module from inside a
// snapshot, so `bench`, whose report imports vega, runs as bin/freezedry.js instead.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import v8 from 'node:v8';
import { main, prepareProgram } from './main.js';
import { prepareCodecs } from '../protobuf.js';
import { cliPackageRoot, markStartedFromSnapshot } from './start-up.js';

/**
 * The modules the commands import when they run (see ./commands): the API, which re-exports them
 * all, with the migrations and containers. None may load node:tls or node:http as it loads
 * (src/migrate/deferred-modules.ts says why).
 */
const commandModules = () => import('../index.js');

async function runCommand(): Promise<void> {
  markStartedFromSnapshot();
  // Started from a snapshot, node puts the command's arguments right after its own path.
  const argv = process.argv.slice(1);
  if (argv.find((arg) => !arg.startsWith('-')) === 'bench') {
    const bench = spawnSync(process.execPath, [path.join(cliPackageRoot(), 'bin', 'freezedry.js'), ...argv], { stdio: 'inherit' });
    process.exitCode = bench.status ?? 1;
    return;
  }
  process.exitCode = await main(argv);
}

if (v8.startupSnapshot.isBuildingSnapshot()) {
  commandModules().then(
    () => {
      prepareCodecs();
      prepareProgram();
      v8.startupSnapshot.setDeserializeMainFunction(() => void runCommand());
    },
    (error: unknown) => {
      process.stderr.write(`the CLI's start-up snapshot could not load the commands: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
