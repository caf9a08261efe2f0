// The README's benchmark section is generated (npm run bench:readme): it must be exactly what
// the generator makes of the committed results, and every plot it links must be there.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeSection, README_BEGIN, README_END } from '../../src/bench/readme.js';
import { plotsOf, type BenchResults } from '../../src/bench/report.js';
import { repoRoot } from '../helpers/workloads.js';

const results = JSON.parse(readFileSync(path.join(repoRoot, 'docs', 'bench', 'results.json'), 'utf8')) as BenchResults;
const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

describe("the README's benchmark section", () => {
  it('is what the generator makes of docs/bench/results.json, a full run', () => {
    expect(results.options.quick).toBe(false);
    const section = readme.slice(readme.indexOf(README_BEGIN), readme.indexOf(README_END) + README_END.length);
    expect(section).toBe(readmeSection(results));
  });

  it('links only plots that are committed, and every plot of the run', () => {
    const linked = [...readme.matchAll(/\]\((docs\/bench\/[^)]+\.svg)\)/g)].map((m) => m[1] as string);
    expect(linked.length).toBe(plotsOf(results.measurements).length);
    for (const file of linked) expect(existsSync(path.join(repoRoot, file)), file).toBe(true);
  });
});
