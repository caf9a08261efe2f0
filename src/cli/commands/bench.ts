// bench: the benchmark suite, side by side with the peers, into results.json and report.html.
import type { Command } from 'commander';
import type { BenchProgress } from '../../bench/index.js';
import type { Context } from '../context.js';
import { terminalBar } from '../progress.js';

/**
 * On a terminal, one line redrawn: scenario, case, sample i of n, elapsed, and the remaining
 * time of this case (from its samples so far). Elsewhere, one line per case.
 */
function progressDisplay(json: boolean): BenchProgress & { stop(): void } {
  const started = Date.now();
  const clock = (ms: number) => `${Math.floor(ms / 60000)}:${String(Math.floor((ms % 60000) / 1000)).padStart(2, '0')}`;
  let scenario = '';
  let currentCase = '';
  let caseStarted = Date.now();
  if (json || !process.stderr.isTTY) {
    return {
      scenario: (name) => void process.stderr.write(`[bench] ${(scenario = name)}\n`),
      sample: (caseName, index, of) => {
        if (caseName !== currentCase) process.stderr.write(`[bench] ${scenario}: ${(currentCase = caseName)} (sample ${index} of ${of}, ${clock(Date.now() - started)} in)\n`);
      },
      note: (text) => void process.stderr.write(`${text}\n`),
      stop() {},
    };
  }
  const bar = terminalBar('{scenario} | {case} | sample {value}/{total} | elapsed {elapsed} | case remaining ~{remaining}');
  return {
    scenario(name) {
      scenario = name;
    },
    sample(caseName, index, of) {
      if (caseName.split(':')[0] !== currentCase.split(':')[0]) caseStarted = Date.now();
      currentCase = caseName;
      const perSample = index > 1 ? (Date.now() - caseStarted) / (index - 1) : 0;
      bar.update(index, of, { scenario, case: caseName, elapsed: clock(Date.now() - started), remaining: perSample ? clock(perSample * (of - index + 1)) : '?' });
    },
    note(text) {
      bar.stop();
      process.stderr.write(`${text}\n`);
    },
    stop: () => bar.stop(),
  };
}

export function register(program: Command, context: Context): void {
  program
    .command('bench')
    .description('measure dump, restore, lazy restore, migration and containers against CRIU, runc and Podman; writes results.json and report.html')
    .argument('[scenario...]', 'dump, cli, lazy, migrate, archive, containers, snapshot (default: all)')
    .option('--quick', 'one small size, few repeats (under 10 minutes)')
    .option('--sizes <list>', 'memory sizes for the curves (default 256M,1G,4G,8G, those that fit in memory; quick: 256M)')
    .option('--repeats <n>', 'samples per case (default 5; 3 for migrations and containers; quick: 1)')
    .option('--cache <mode>', 'page cache before each restore: warm, cold (dropped) or both', 'both')
    .option('--link <rate>', "the migration link's rate, in tc's notation", '1gbit')
    .option('--out <dir>', 'where results.json, report.html and plots/ go (default ./freezedry-bench/<time>)')
    .action(async (scenarios: string[], opts: { quick?: boolean; sizes?: string; repeats?: string; cache: string; link: string; out?: string }) => {
      const [{ runBench, parseSizes }, { ValidationError, ErrorCode }] = await Promise.all([import('../../bench/index.js'), import('../../index.js')]);
      if (!['warm', 'cold', 'both'].includes(opts.cache)) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `--cache must be warm, cold or both, not '${opts.cache}'`);
      const display = progressDisplay(context.out.json);
      try {
        const { results, outDir } = await runBench(
          {
            scenarios,
            quick: opts.quick,
            sizes: opts.sizes ? parseSizes(opts.sizes) : undefined,
            repeats: opts.repeats === undefined ? undefined : Number(opts.repeats),
            cache: opts.cache as 'warm' | 'cold' | 'both',
            link: opts.link,
            out: opts.out,
          },
          display,
        );
        display.stop();
        const missed = results.comparisons.filter((c) => c.met === false).length;
        context.out.result(
          { ...results, outDir },
          [
            `${results.measurements.length} measurements, ${results.comparisons.length} comparisons (${missed} target${missed === 1 ? '' : 's'} not met) in ${(results.durationMs / 60000).toFixed(1)} min`,
            ...results.skipped.map((s) => `not measured: ${s.what}: ${s.reason}`),
            ...results.failed.map((f) => `FAILED: ${f.scenario}: ${f.error}`),
            `report: ${outDir}/report.html`,
            `results: ${outDir}/results.json`,
          ].join('\n'),
        );
        if (results.failed.length > 0) context.exitCode = 1;
      } finally {
        display.stop();
      }
    });
}
