// The CLI's sizes (--buffer): binary units, and NaN for what is not a size, for the API to refuse.
import { describe, expect, it } from 'vitest';
import { bytesOf } from '../../src/cli/progress.js';

describe('CLI sizes', () => {
  it('reads K, M and G as powers of 1024, plain numbers as bytes, and anything else as NaN', () => {
    expect(bytesOf('512M')).toBe(512 * 1048576);
    expect(bytesOf('4g')).toBe(4 * 1073741824);
    expect(bytesOf('64K')).toBe(65536);
    expect(bytesOf('1048576')).toBe(1048576);
    expect(bytesOf(undefined)).toBeUndefined();
    for (const text of ['', '4 gigs', '1.5G', '-1M', '4T', 'G']) expect(bytesOf(text), text).toBeNaN();
  });
});
