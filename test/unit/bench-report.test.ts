// The benchmark report's pure parts: sizes as the command line takes them, how measurements
// become plots, and the statistics of a comparison (paired ratios).
import { describe, expect, it } from 'vitest';
import { compare, rotation, sizeLabel, type Measurement } from '../../src/bench/harness.js';
import { mergeRuns, readmeSection } from '../../src/bench/readme.js';
import { plotSpec, plotsOf, type BenchResults } from '../../src/bench/report.js';
import { parseSizes } from '../../src/bench/run-bench.js';

const curve = (tool: string, x: number, samples: number[], extra: Partial<Measurement> = {}): Measurement => ({
  scenario: 'dump',
  case: `dump wall time, ${x} MiB`,
  tool,
  samples,
  unit: 'ms',
  metric: 'dump wall time',
  x: { label: 'memory (MiB)', value: x },
  ...extra,
});

// The machine of merged runs (mergeRuns compares them; readmeSection describes it).
const machine = { hostname: 'h', kernel: { release: '6.18', version: '' }, cpu: { model: 'cpu', cores: 2, flags: [] }, memoryBytes: 2 ** 34, disk: { fileSystem: 'ext4', device: '/dev/vda' }, node: 'v20' } as unknown as BenchResults['machine'];

describe('benchmark report', () => {
  it('parses sizes in MiB and GiB, and refuses what is not a size', () => {
    expect(parseSizes('256M,1G,4G')).toEqual([256, 1024, 4096]);
    expect(parseSizes('512MiB, 1.5G')).toEqual([512, 1536]);
    expect(() => parseSizes('1T')).toThrow(/'1T' is not a size/);
    expect(() => parseSizes('8M')).toThrow(/below the 16 MiB/);
  });

  it('groups curves into one plot per scenario, metric, cache and axis, measured series before targets', () => {
    const plots = plotsOf([
      curve('criu dump', 256, [10, 12]),
      curve('target: ≤ 1.05× criu dump', 256, [11.5], { target: true }),
      curve('freezedry', 256, [11, 13]),
      curve('freezedry', 1024, [40, 44]),
      curve('freezedry', 1024, [30], { metric: 'restore time' }),
      curve('freezedry', 1024, [30], { scenario: 'lazy', metric: 'restore time', cache: 'cold' }),
      curve('freezedry', 1024, [30], { scenario: 'lazy', metric: 'restore time', cache: 'warm' }),
      { ...curve('untabled', 1, [1]), metric: undefined },
    ]);
    expect(plots.map((p) => p.id)).toEqual(['dump-dump-wall-time-by-memory', 'dump-restore-time-by-memory', 'lazy-restore-time-cold-by-memory', 'lazy-restore-time-warm-by-memory']);
    expect(plots[0]?.series).toEqual(['criu dump', 'freezedry', 'target: ≤ 1.05× criu dump']);
    expect(plots[2]?.title).toBe('restore time, cold page cache');
  });

  it('draws medians with their min-max spread, a log axis for sizes and bars side by side for categories', () => {
    const [plot] = plotsOf([curve('freezedry', 256, [10, 30, 20]), curve('freezedry', 1024, [50, 40, 45])]);
    const spec = plotSpec(plot as never) as { data: { values: { x: number; median: number; min: number; max: number }[] }; encoding: { x: { scale: { type?: string } } } };
    expect(spec.data.values).toMatchObject([{ x: 256, median: 20, min: 10, max: 30 }, { x: 1024, median: 45, min: 40, max: 50 }]);
    expect(spec.encoding.x.scale.type).toBe('log');
    const [bars] = plotsOf([curve('ours', 0, [5], { x: { label: 'kind of memory', value: 'text' } })]);
    expect((plotSpec(bars as never) as { encoding: { x: { type: string } } }).encoding.x.type).toBe('nominal');
  });

  it('takes the ratio pair by pair when the samples were taken in turns, and varies the order of turns (who goes first, who follows whom)', () => {
    // Drift: each turn is slower; the per-turn ratio stays 0.5 while the medians' ratio would not.
    const ours = curve('ours', 1, [5, 50, 500]);
    const peer = curve('peer', 1, [10, 100, 1000]);
    expect(compare(ours, peer).ratio).toBe(0.5);
    expect(compare(ours, { ...peer, samples: [10, 100] }).ratio).toBeCloseTo(50 / 55);
    expect([0, 1, 2, 3, 4, 5].map((turn) => rotation(['a', 'b', 'c'], turn).join(''))).toEqual(['abc', 'cba', 'bca', 'acb', 'cab', 'bac']);
    expect([0, 1, 2, 3].map((turn) => rotation(['a', 'b'], turn).join(''))).toEqual(['ab', 'ba', 'ba', 'ab']);
  });

  it('merges a rerun of some scenarios over a full run, keeping why they ran again, and refuses another machine', () => {
    const run = (scenarios: string[], tool: string, failed: BenchResults['failed'] = []): BenchResults => ({
      format: 'freezedry-bench/1',
      startedAt: `start-${tool}`,
      durationMs: 60_000,
      options: { scenarios, quick: false, sizes: [256], cache: ['warm'], link: '1gbit' },
      machine,
      measurements: scenarios.map((scenario) => ({ ...curve(tool, 256, [1]), scenario })),
      comparisons: [],
      notes: [`note of ${tool}`],
      skipped: [],
      failed,
    });
    const merged = mergeRuns([run(['dump', 'containers'], 'first', [{ scenario: 'containers', error: 'hung' }]), run(['containers'], 'second')]);
    expect(merged.measurements.map((m) => `${m.scenario}:${m.tool}`)).toEqual(['dump:first', 'containers:second']);
    expect(merged.failed).toEqual([]);
    expect(merged.notes.join('\n')).toMatch(/containers failed in the run of start-first, so it was measured again: hung/);
    expect(merged.runs?.map((r) => r.scenarios)).toEqual([['dump', 'containers'], ['containers']]);
    expect(merged.durationMs).toBe(120_000);
    expect(() => mergeRuns([run(['dump'], 'a'), { ...run(['dump'], 'b'), machine: { ...machine, hostname: 'other' } }])).toThrow(/another machine/);
    // A fresh VM of the same kind (another kernel build, another host CPU) may replace whole scenarios, and is named.
    const vm = { ...machine, kernel: { ...machine.kernel, release: `${machine.kernel.release}-b` }, cpu: { ...machine.cpu, flags: [...machine.cpu.flags, 'avx512f'] } };
    const other = mergeRuns([run(['dump', 'containers'], 'first'), { ...run(['containers'], 'second'), machine: vm }]);
    expect(other.measurements.map((m) => `${m.scenario}:${m.tool}`)).toEqual(['dump:first', 'containers:second']);
    expect(readmeSection(other)).toMatch(/containers measured again in a run of its own \(.*on another VM of the same kind: Linux .*-b, CPU with AVX-512\)/);
    // Its host CPU may be another model (of another vendor even): named too.
    const intel = { ...vm, cpu: { ...vm.cpu, model: 'Intel(R) Xeon(R) Processor' } };
    const elsewhere = mergeRuns([run(['dump', 'containers'], 'first'), { ...run(['containers'], 'second'), machine: intel }]);
    expect(readmeSection(elsewhere)).toContain(`on another VM of the same kind: Linux ${machine.kernel.release}-b, Intel(R) Xeon(R) Processor (not ${machine.cpu.model}), CPU with AVX-512`);
    // A VM of another shape (more cores) is another machine.
    expect(() => mergeRuns([run(['dump'], 'a'), { ...run(['dump'], 'b'), machine: { ...vm, cpu: { ...vm.cpu, cores: vm.cpu.cores * 2 } } }])).toThrow(/another machine/);
  });

  it('adds a run of new sizes to the curves of a full run, leaving out its repeat of the size-free cases', () => {
    const comparison = (size: string) => ({ scenario: 'dump', case: `dump wall time, ${size}`, ours: 'a', peer: 'b', oursMedian: 1, peerMedian: 2, unit: 'ms' as const, ratio: 0.5, difference: -1, oursSpread: { min: 1, max: 1, n: 1 }, peerSpread: { min: 2, max: 2, n: 1 } });
    const run = (sizes: number[], startedAt: string): BenchResults => ({
      format: 'freezedry-bench/1',
      startedAt,
      durationMs: 60_000,
      options: { scenarios: ['dump'], quick: false, sizes, cache: ['warm'], link: '1gbit' },
      machine,
      measurements: [curve(startedAt, 1, [1]), ...sizes.map((size) => curve(startedAt, size, [size]))],
      comparisons: [comparison('tiny process'), ...sizes.map((size) => comparison(sizeLabel(size)))],
      notes: ['tiny process: a note', ...sizes.map((size) => `note at ${sizeLabel(size)}`)],
      skipped: [],
      failed: [],
    });
    const merged = mergeRuns([run([256, 1024, 128 * 1024], 'full'), run([8192], 'big')]);
    expect(merged.measurements.map((m) => `${m.tool}@${String(m.x?.value)}`)).toEqual(['full@1', 'full@256', 'full@1024', 'full@131072', 'big@8192']);
    expect(merged.comparisons.map((c) => c.case)).toEqual(['dump wall time, tiny process', 'dump wall time, 256 MiB', 'dump wall time, 1 GiB', 'dump wall time, 128 GiB', 'dump wall time, 8 GiB']);
    expect(merged.notes).toEqual(['tiny process: a note', 'note at 256 MiB', 'note at 1 GiB', 'note at 128 GiB', 'note at 8 GiB']);
    expect(merged.options.sizes).toEqual([256, 1024, 8192, 128 * 1024]);
    expect(merged.runs?.[1]).toMatchObject({ scenarios: ['dump'], addedSizes: [8192] });
    expect(readmeSection(merged)).toMatch(/--sizes 256M,1G,128G .*dump at 8 GiB measured in a run of its own/);
    // The merged set (docs/bench/results.json) can be the base of a later merge: its runs stay listed.
    const again = mergeRuns([merged, run([16384], 'bigger')]);
    expect(again.runs?.map((r) => r.addedSizes ?? [])).toEqual([[], [8192], [16384]]);
    // 8 GiB is new to another scenario even though dump has it: added there too.
    const other = mergeRuns([merged, { ...run([8192], 'containers'), options: { ...run([8192], 'c').options, scenarios: ['containers'] }, measurements: [{ ...curve('containers', 8192, [1]), scenario: 'containers' }] }]);
    expect(other.measurements.filter((m) => m.x?.value === 8192).map((m) => m.scenario)).toEqual(['dump', 'containers']);
    expect(other.options.sizes).toEqual([256, 1024, 8192, 128 * 1024]);
    // A size measured again (after a fix) replaces that size's points only, and says so.
    const failedAt = { ...run([8192], 'failing'), failed: [{ scenario: 'dump', error: '8 GiB: it hung' }] };
    const fixed = mergeRuns([merged, failedAt, run([1024, 8192], 'fixed')]);
    expect(fixed.measurements.map((m) => `${m.tool}@${String(m.x?.value)}`)).toEqual(['full@1', 'full@256', 'full@131072', 'fixed@1024', 'fixed@8192']);
    expect(fixed.comparisons.map((c) => c.case)).toEqual(['dump wall time, tiny process', 'dump wall time, 256 MiB', 'dump wall time, 128 GiB', 'dump wall time, 1 GiB', 'dump wall time, 8 GiB']);
    expect(fixed.failed).toEqual([]);
    expect(fixed.notes.filter((n) => n === 'note at 8 GiB')).toHaveLength(1);
    expect(fixed.runs?.[3]).toMatchObject({ remeasuredSizes: [1024, 8192] });
    expect(readmeSection(fixed)).toMatch(/dump at 1 GiB, 8 GiB measured again in a run of its own/);
    // Sizes measured on another VM never join these curves.
    const elsewhere = { ...run([8192], 'elsewhere'), machine: { ...machine, kernel: { ...machine.kernel, release: 'other-build' } } };
    expect(() => mergeRuns([merged, elsewhere])).toThrow(/sizes join curves only from the same machine/);
  });
});
