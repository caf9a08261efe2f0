import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/workloads.js';
import { exitCodeFor, exitCodeTable } from '../../src/cli/exit-codes.js';
import { ErrorCode } from '../../src/errors.js';

describe('CLI exit codes', () => {
  it('gives every error code its own documented status, never the generic 1', () => {
    const table = new Map(exitCodeTable());
    for (const code of Object.values(ErrorCode)) {
      expect(table.get(code), code).toBeGreaterThan(1);
    }
    expect(exitCodeFor('ERR_SOMETHING_NEW')).toBe(1);
    expect(exitCodeFor(undefined)).toBe(1);
  });

  it('knows every code the native addon throws (codes are defined once, in errors.ts)', () => {
    const dir = path.join(repoRoot, 'native', 'addon');
    const thrown = readdirSync(dir)
      .filter((name) => /\.(cc|h)$/.test(name))
      .flatMap((name) => [...readFileSync(path.join(dir, name), 'utf8').matchAll(/"(ERR_[A-Z_]+)"/g)].map((m) => m[1] as string));
    expect(thrown.length).toBeGreaterThan(0);
    const known: string[] = Object.values(ErrorCode);
    expect(thrown.filter((code) => !known.includes(code))).toEqual([]);
  });
});
