// The layers of ARCHITECTURE.md, checked on the import graph of src/ (madge): no module cycle,
// and nothing below the API (policy, binding, the CLI's commands apart) imports an API module.
import path from 'node:path';
import madge from 'madge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/workloads.js';

const graph = await madge(path.join(repoRoot, 'src'), {
  fileExtensions: ['ts'],
  tsConfig: path.join(repoRoot, 'tsconfig.json'),
});
const imports = graph.obj();

// The public API: what src/index.ts re-exports from the top of src/.
const API = ['index.ts', 'checkpoint.ts', 'restore.ts', 'check.ts', 'inspect.ts', 'run.ts'];
// Above the API: the CLI, the demo and the benchmark suite (a user of the API); everything else is below it.
const ABOVE = /^(cli|demo|bench)\//;

describe('architecture', () => {
  it('has no module cycle', () => {
    expect(graph.circular()).toEqual([]);
  });

  it('has no import from below the API back up into it', () => {
    const backEdges = Object.entries(imports)
      .filter(([from]) => !ABOVE.test(from) && !API.includes(from))
      .flatMap(([from, to]) => to.filter((target) => API.includes(target)).map((target) => `${from} -> ${target}`));
    expect(backEdges).toEqual([]);
  });

  it('sees the whole tree (the check cannot pass by reading nothing)', () => {
    expect(Object.keys(imports).length).toBeGreaterThan(60);
    expect(imports['index.ts']).toContain('checkpoint.ts');
  });
});
