// Regenerates the README's benchmark section, and the plots it links under docs/bench/, from a
// full run of `freezedry bench` (the newest under ./freezedry-bench/ unless one is named); runs
// named after it that measured some scenarios again replace those scenarios' results.
//   npm run bench:readme [-- RUN [RERUN...]]        (each a directory or its results.json)
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { plotsOf, renderSvg } from '../lib/bench/report.js';
import { mergeRuns, readmeSection, replaceSection } from '../lib/bench/readme.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const docs = path.join(root, 'docs', 'bench');

function newestFullRun() {
  const runs = path.join(root, 'freezedry-bench');
  const candidates = existsSync(runs)
    ? readdirSync(runs)
        .map((name) => path.join(runs, name, 'results.json'))
        .filter((file) => existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).options?.quick === false)
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    : [];
  if (!candidates[0]) throw new Error(`no full run under ${runs}: run 'npm run bench' first, or name a results.json`);
  return candidates[0];
}

const named = process.argv.slice(2);
const sources = (named.length ? named : [newestFullRun()]).map((arg) => (arg.endsWith('.json') ? path.resolve(arg) : path.resolve(arg, 'results.json')));
const runs = sources.map((file) => JSON.parse(readFileSync(file, 'utf8')));
const quick = sources.filter((_, i) => runs[i].options?.quick);
if (quick.length) throw new Error(`${quick.join(', ')}: a quick run; the README shows full ones`);
const results = runs.length === 1 ? runs[0] : mergeRuns(runs);
const source = sources.join(' + ');

mkdirSync(docs, { recursive: true });
for (const stale of readdirSync(docs).filter((name) => name.endsWith('.svg'))) rmSync(path.join(docs, stale));
for (const plot of plotsOf(results.measurements)) writeFileSync(path.join(docs, `${plot.id}.svg`), await renderSvg(plot));
writeFileSync(path.join(docs, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);

const readme = path.join(root, 'README.md');
writeFileSync(readme, replaceSection(readFileSync(readme, 'utf8'), readmeSection(results)));
console.log(`README.md's benchmark section and ${plotsOf(results.measurements).length} plots in docs/bench/ now come from ${source}`);
