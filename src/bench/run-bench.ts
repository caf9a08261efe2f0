// The benchmark suite: every scenario side by side with its peer, in one run.
//   npm run bench [-- SCENARIO...] [--quick]
import { parseArgs } from 'node:util';
import { endLeftovers, formatTable, saveResults, type Comparison, type Measurement } from './harness.js';
import { archiveScenario } from './scenarios/archive.js';
import { containersScenario } from './scenarios/containers.js';
import { dumpRestoreScenario } from './scenarios/dump-restore.js';
import { lazyScenario } from './scenarios/lazy.js';
import { migrateScenario } from './scenarios/migrate.js';
import { snapshotScenario } from './scenarios/snapshot.js';

type Scenario = (options: { quick?: boolean }) => Promise<{ comparisons: Comparison[]; measurements: Measurement[]; notes?: string[] }>;
const scenarios: Record<string, Scenario> = {
  'dump-restore': dumpRestoreScenario,
  archive: archiveScenario,
  lazy: lazyScenario,
  migrate: migrateScenario,
  containers: containersScenario,
  snapshot: snapshotScenario,
};

const { values, positionals } = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean', default: false } } });
const chosen = positionals.length > 0 ? positionals : Object.keys(scenarios);
const all: { comparisons: Comparison[]; measurements: Measurement[]; notes: string[] } = { comparisons: [], measurements: [], notes: [] };
// Whatever happens, nothing the suite started outlives it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    endLeftovers();
    process.exit(130);
  });
}
try {
  for (const name of chosen) {
    const scenario = scenarios[name];
    if (!scenario) {
      console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
      process.exitCode = 2;
      break;
    }
    console.error(`running ${name}${values.quick ? ' (quick)' : ''}…`);
    try {
      const result = await scenario({ quick: values.quick });
      all.comparisons.push(...result.comparisons);
      all.measurements.push(...result.measurements);
      all.notes.push(...(result.notes ?? []));
      // Each scenario's results are kept at once: a later one failing must not lose them.
      console.error(formatTable(result.comparisons));
      saveResults(name, { date: new Date().toISOString(), quick: values.quick, ...result });
    } finally {
      const ended = endLeftovers();
      if (ended > 0) console.error(`${name}: ended ${ended} process(es) it left running`);
    }
  }
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
console.log(formatTable(all.comparisons));
for (const note of all.notes) console.log(`\n${note}`);
console.log(`\nresults: ${saveResults(chosen.join('+'), { date: new Date().toISOString(), quick: values.quick, ...all })}`);
