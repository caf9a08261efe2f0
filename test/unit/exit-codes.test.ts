import { describe, expect, it } from 'vitest';
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
});
