// freezedry/bench: the benchmark suite as an API (`freezedry bench` is its command line).
export { runBench, parseSizes, SCENARIOS, type BenchRunOptions } from './run-bench.js';
export { plotsOf, renderReport, renderSvg, plotSpec, formatValue, type BenchResults, type Plot } from './report.js';
export { describeMachine, machineSummary, type MachineDescription } from './machine.js';
export type { BenchProgress, Comparison, Measurement } from './harness.js';
