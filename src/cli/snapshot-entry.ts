// The entry of the CLI's V8 start-up snapshot. scripts/bundle-cli.mjs bundles it into one
// CommonJS file and scripts/build-cli-snapshot.mjs runs `node --build-snapshot` on that: every
// command's modules are loaded then, and main() runs when bin/freezedry starts node from the blob. Node cannot
// import() an ES module from inside a snapshot, so `bench`, whose report imports vega, runs as
// bin/freezedry.js instead.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import v8 from 'node:v8';
import { main } from './main.js';
import { prepareCodecs } from '../protobuf.js';
import { cliPackageRoot, markStartedFromSnapshot } from './start-up.js';

/**
 * The modules the commands import when they run (see ./commands): the API, with the migrations and
 * containers, and what the API does not re-export. None may load node:http as it loads: that fails
 * while a snapshot is built (node 20 adds Array.prototype.toSorted, which node:http calls as it
 * loads, only once the snapshot runs).
 */
const commandModules = () => Promise.all([import('../index.js'), import('../archive/transfer.js'), import('../snapshot/requests.js')]);

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
      v8.startupSnapshot.setDeserializeMainFunction(() => void runCommand());
    },
    (error: unknown) => {
      process.stderr.write(`the CLI's start-up snapshot could not load the commands: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
