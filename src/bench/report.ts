// The benchmark's report: every curve as a plot (medians, min-max spread, freezedry and its
// peers on the same axes, targets dashed), rendered to SVG with vega-lite in Node, and one
// self-contained HTML page holding them with the comparisons, the notes and the machine.
import type { Comparison, Measurement, Spread } from './harness.js';
import { median, spreadOf } from './harness.js';
import { machineSummary, type MachineDescription } from './machine.js';

export interface BenchResults {
  format: 'freezedry-bench/1';
  startedAt: string;
  durationMs: number;
  options: { scenarios: string[]; quick: boolean; sizes: number[]; repeats?: number; cache: string[]; link: string };
  machine: MachineDescription;
  measurements: Measurement[];
  comparisons: Comparison[];
  notes: string[];
  /** Peers or scenarios that could not run here, and why. */
  skipped: { what: string; reason: string }[];
  /** Scenarios that failed, with their error: the others' results stand. */
  failed: { scenario: string; error: string }[];
  /** When results of several runs were merged (mergeRuns): each run, the scenarios it gave and, for a run that added sizes, those sizes (MiB). */
  runs?: { startedAt: string; durationMs: number; scenarios: string[]; addedSizes?: number[]; remeasuredSizes?: number[]; machine?: string }[];
}

export interface Plot {
  /** A file name: scenario-metric[-cache]. */
  id: string;
  title: string;
  scenario: string;
  xLabel: string;
  yLabel: string;
  /** The series drawn (measured tools first, then targets). */
  series: string[];
  measurements: Measurement[];
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Groups the curves' measurements into plots: one per scenario, metric, cache state and x axis. */
export function plotsOf(measurements: Measurement[]): Plot[] {
  const plots = new Map<string, Plot>();
  for (const m of measurements) {
    if (!m.metric || !m.x || m.samples.every((s) => !Number.isFinite(s))) continue;
    const key = [m.scenario, m.metric, m.cache ?? '', m.x.label].join('|');
    let plot = plots.get(key);
    if (!plot) {
      const cache = m.cache && m.scenario === 'lazy' ? `, ${m.cache} page cache` : '';
      plot = {
        id: slug(`${m.scenario}-${m.metric}${m.cache && m.scenario === 'lazy' ? `-${m.cache}` : ''}-by-${m.x.label.replace(/\(.*\)/, '')}`),
        title: `${m.metric}${cache}`,
        scenario: m.scenario,
        xLabel: m.x.label,
        yLabel: `${m.metric.replace(/ at .*$/, '')} (${m.unit})`,
        series: [],
        measurements: [],
      };
      plots.set(key, plot);
    }
    plot.measurements.push(m);
    if (!plot.series.includes(m.tool)) plot.series.push(m.tool);
  }
  for (const plot of plots.values()) plot.series.sort((a, b) => Number(a.startsWith('target')) - Number(b.startsWith('target')));
  return [...plots.values()];
}

/** The vega-lite specification of one plot. */
export function plotSpec(plot: Plot): Record<string, unknown> {
  const rows = plot.measurements.map((m) => {
    return { tool: m.tool, x: m.x?.value, median: median(m.samples.filter(Number.isFinite)), ...spreadOf(m.samples), target: m.target === true };
  });
  const categorical = rows.some((r) => typeof r.x === 'string');
  const distinct = new Set(rows.map((r) => r.x)).size;
  const positive = rows.every((r) => typeof r.x === 'number' && r.x > 0);
  const xScale = !categorical && positive && distinct > 1 && plot.xLabel.startsWith('memory') ? { type: 'log', base: 2 } : { zero: false };
  const x = categorical
    ? { field: 'x', type: 'nominal', title: plot.xLabel, axis: { labelAngle: 0, labelLimit: 0 } }
    : { field: 'x', type: 'quantitative', title: plot.xLabel, scale: xScale, axis: { format: '~g', values: distinct <= 8 ? [...new Set(rows.map((r) => r.x))] : undefined } };
  // Medians an order of magnitude and more apart (stop-copy against the lazy modes): a log axis.
  const medians = rows.map((r) => r.median).filter((v) => Number.isFinite(v));
  const wide = medians.length > 1 && Math.min(...medians) > 0 && Math.max(...medians) / Math.min(...medians) >= 20;
  const yScale = wide ? { type: 'log' } : {};
  // labelLimit 0 (here and on a categorical axis): a name is never cut short (the SVG is laid
  // out without a canvas, whose width estimate runs long).
  const color = { field: 'tool', type: 'nominal', title: null, scale: { domain: plot.series }, legend: { orient: 'bottom', columns: 2, labelLimit: 0 } };
  const offset = categorical ? { xOffset: { field: 'tool', type: 'nominal', scale: { domain: plot.series } } } : {};
  const measured = { filter: '!datum.target' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: plot.title, subtitle: `${plot.scenario}: medians, bars from min to max`, anchor: 'start' },
    width: 520,
    height: 280,
    data: { values: rows },
    encoding: { x, color },
    layer: [
      { transform: [measured], mark: { type: 'rule', strokeWidth: 2, opacity: 0.6 }, encoding: { y: { field: 'min', type: 'quantitative', scale: yScale }, y2: { field: 'max' }, ...offset } },
      {
        transform: [measured],
        mark: categorical ? { type: 'point', filled: true, size: 80 } : { type: 'line', point: { filled: true, size: 40 } },
        encoding: {
          y: { field: 'median', type: 'quantitative', title: wide ? `${plot.yLabel}, log scale` : plot.yLabel, scale: yScale },
          ...offset,
          tooltip: [{ field: 'tool' }, { field: 'x', title: plot.xLabel }, { field: 'median', format: '.1f' }, { field: 'min', format: '.1f' }, { field: 'max', format: '.1f' }, { field: 'n', title: 'samples' }],
        },
      },
      {
        transform: [{ filter: 'datum.target' }],
        mark: categorical ? { type: 'tick', thickness: 2, strokeDash: [4, 3] } : { type: 'line', strokeDash: [6, 4], point: { shape: 'diamond', filled: false, size: 60 } },
        encoding: { y: { field: 'median', type: 'quantitative', scale: yScale }, ...offset },
      },
    ],
  };
}

/** One plot as standalone SVG. */
export async function renderSvg(plot: Plot): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(plotSpec(plot) as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '–';
  if (unit === 'ms') return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
  if (unit === 'MB/s') return `${value.toFixed(0)} MB/s`;
  return `${value.toFixed(1)} ${unit}`;
}

/** A median with its samples' min–max and count. */
export function withSpread(value: number, spread: Spread | undefined, unit: string): string {
  if (!spread || spread.n < 2) return formatValue(value, unit);
  return `${formatValue(value, unit)} (${formatValue(spread.min, unit).replace(` ${unit}`, '')}–${formatValue(spread.max, unit).replace(` ${unit}`, '')}, n=${spread.n})`;
}

/** The whole report as one HTML page: no script, no stylesheet or font fetched, plots inline. */
export async function renderReport(results: BenchResults, svgs?: Map<string, string>): Promise<string> {
  const plots = plotsOf(results.measurements);
  const figures: string[] = [];
  for (const plot of plots) {
    const svg = svgs?.get(plot.id) ?? (await renderSvg(plot));
    figures.push(`<figure class="plot" id="${plot.id}" data-series="${escape(plot.series.join('\u001f'))}">${svg}<figcaption>${escape(plot.title)}</figcaption></figure>`);
  }
  const rows = results.comparisons.map(
    (c) =>
      `<tr class="${c.met === false ? 'missed' : ''}"><td>${escape(c.scenario)}</td><td>${escape(c.case)}</td><td>${escape(c.ours)}: ${withSpread(c.oursMedian, c.oursSpread, c.unit)}</td><td>${escape(c.peer)}: ${withSpread(c.peerMedian, c.peerSpread, c.unit)}</td><td>${c.ratio.toFixed(3)}×</td><td>${escape(c.target ?? '')}</td><td>${c.met === undefined ? '' : c.met ? 'met' : 'not met'}</td></tr>`,
  );
  const o = results.options;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>freezedry benchmark, ${escape(results.startedAt)}</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }
tr.missed td:last-child { color: #b00; font-weight: bold; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } figure.plot { margin: 0; } figcaption { display: none; }
code { background: #f4f4f4; padding: 0 0.2em; }
</style></head><body>
<h1>freezedry benchmark</h1>
<p>${escape(results.startedAt)}, ${(results.durationMs / 60000).toFixed(1)} min; ${o.quick ? 'quick run' : 'full run'}: ${escape(o.scenarios.join(', '))}; sizes ${o.sizes.map((s) => `${s} MiB`).join(', ')}; ${o.repeats ? `${o.repeats} repeats` : 'each scenario’s default repeats'}; page cache ${escape(o.cache.join(' and '))}; migration link ${escape(o.link)}.</p>
<p>Machine: ${escape(machineSummary(results.machine))}.</p>
<p>Tools take turns on the same workload, in an order that changes every turn (A B C, C B A, B C A, A C B…), so drift hits them all; ratios are the median of per-turn ratios. Every sample is in <code>results.json</code>.</p>
${results.failed.length ? `<h2>Failed scenarios</h2><ul>${results.failed.map((f) => `<li>${escape(f.scenario)}: ${escape(f.error)}</li>`).join('')}</ul>` : ''}
${results.skipped.length ? `<h2>Not measured here</h2><ul>${results.skipped.map((s) => `<li>${escape(s.what)}: ${escape(s.reason)}</li>`).join('')}</ul>` : ''}
<h2>Curves</h2>
<div class="plots">
${figures.join('\n')}
</div>
<h2>Comparisons</h2>
<table><thead><tr><th>scenario</th><th>case</th><th>freezedry (median)</th><th>peer (median)</th><th>ratio</th><th>target</th><th></th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
<h2>Notes</h2>
<ul>${results.notes.map((n) => `<li>${escape(n)}</li>`).join('\n')}</ul>
</body></html>
`;
}
