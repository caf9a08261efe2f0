// The benchmark suite: every scenario side by side with its peer, in one run.
//   npm run bench [-- SCENARIO...] [--quick]
import { parseArgs } from 'node:util';
import { formatTable, saveResults, type Comparison, type Measurement } from './harness.js';
import { dumpRestoreScenario } from './scenarios/dump-restore.js';

type Scenario = (options: { quick?: boolean }) => Promise<{ comparisons: Comparison[]; measurements: Measurement[] }>;
const scenarios: Record<string, Scenario> = {
  'dump-restore': dumpRestoreScenario,
};

const { values, positionals } = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean', default: false } } });
const chosen = positionals.length > 0 ? positionals : Object.keys(scenarios);
const all: { comparisons: Comparison[]; measurements: Measurement[] } = { comparisons: [], measurements: [] };
for (const name of chosen) {
  const scenario = scenarios[name];
  if (!scenario) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  console.error(`running ${name}${values.quick ? ' (quick)' : ''}…`);
  const result = await scenario({ quick: values.quick });
  all.comparisons.push(...result.comparisons);
  all.measurements.push(...result.measurements);
}
console.log(formatTable(all.comparisons));
console.log(`\nresults: ${saveResults(chosen.join('+'), { date: new Date().toISOString(), quick: values.quick, ...all })}`);
