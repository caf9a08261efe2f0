// `freezedry bench` end to end: a real (small) run of the dump scenario against the criu CLI,
// its results.json with every sample and the machine, and its report opened in a real headless
// browser (Debian's chromium): it opens, every plot shows every series with axis titles, and
// nothing is requested from the network.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { plotsOf, type BenchResults } from '../../src/bench/report.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { runCli, useWorkspace } from '../helpers/workloads.js';

const enabled = await canCheckpoint();
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((file) => existsSync(file));

describe.runIf(enabled)('freezedry bench and its report', () => {
  const { dir } = useWorkspace();

  it('measures freezedry and its peers in turns, keeps every sample and the machine, and writes a report a browser shows offline', async () => {
    const out = path.join(dir(), 'bench');
    const ran = await runCli(['bench', 'dump', '--sizes', '24M', '--repeats', '2', '--cache', 'warm', '--out', out, '--json']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ outDir: out, failed: [] });

    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as BenchResults;
    expect(results.machine).toMatchObject({ kernel: { release: expect.any(String) }, cpu: { cores: expect.any(Number) }, criu: { version: expect.any(String) } });
    expect(results.machine.cpu.flags.length).toBeGreaterThan(0);
    expect(results.machine.features).toMatchObject({ lazyPages: expect.any(Boolean) });
    const wall = results.measurements.filter((m) => m.metric === 'dump wall time' && !m.target);
    // Four freezedry series (three through the API, one the command) and three of the criu CLI (dump, dump + fsync, dump + tar + zstd) at two
    // sizes (the tiny process and 24 MiB), two samples each, all real times.
    expect(new Set(wall.map((m) => m.tool))).toEqual(new Set(['freezedry → directory', 'freezedry → archive', 'freezedry → archive, adaptive compression', 'freezedry dump -o', 'criu dump', 'criu dump + fsync', 'criu dump + tar + zstd']));
    expect(new Set(wall.map((m) => m.x?.value))).toEqual(new Set([1, 24]));
    for (const m of wall) expect(m.samples.every((s) => s > 0 && s < 60_000) && m.samples.length === 2).toBe(true);
    expect(results.comparisons.some((c) => c.peer === 'criu dump' && c.target)).toBe(true);

    expect(chromium, 'chromium is installed by scripts/provision.sh --test').toBeDefined();
    const browser = await puppeteer.launch({ executablePath: chromium, args: ['--no-sandbox', '--headless=new'] });
    try {
      const page = await browser.newPage();
      const requested: string[] = [];
      page.on('request', (request) => requested.push(request.url()));
      const file = `file://${path.join(out, 'report.html')}`;
      const response = await page.goto(file, { waitUntil: 'networkidle0' });
      expect(response?.ok()).toBe(true);
      expect(requested).toEqual([file]);

      const expected = plotsOf(results.measurements);
      expect(expected.length).toBeGreaterThanOrEqual(3);
      const shown = await page.$$eval('figure.plot', (figures) =>
        figures.map((figure) => ({
          id: figure.id,
          series: (figure.getAttribute('data-series') ?? '').split('\u001f'),
          legend: [...figure.querySelectorAll('.role-legend-label text')].map((t) => t.textContent),
          axisTitles: [...figure.querySelectorAll('.role-axis-title text')].map((t) => t.textContent),
          marks: [...figure.querySelectorAll('.role-mark path, .role-mark line')].map((p) => p.getAttribute('aria-label') ?? ''),
          width: figure.querySelector('svg')?.getBoundingClientRect().width ?? 0,
        })),
      );
      expect(shown.map((s) => s.id)).toEqual(expected.map((p) => p.id));
      for (const [i, plot] of shown.entries()) {
        expect(plot.series).toEqual(expected[i]?.series);
        expect(plot.legend).toEqual(plot.series);
        // A plot whose medians span a wide range draws its time axis on a log scale, and says so.
        expect(plot.axisTitles).toEqual(expect.arrayContaining(['memory (MiB)', expect.stringMatching(/\(ms\)(, log scale)?$/)]));
        expect(plot.width).toBeGreaterThan(300);
        // Each measured series has its marks on the plot (a target is one dashed mark too).
        for (const series of plot.series) expect(plot.marks.some((label) => label.includes(`tool: ${series}`)), `${plot.id}: ${series}`).toBe(true);
      }
    } finally {
      await browser.close();
    }
  });
});
