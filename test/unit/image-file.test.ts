import { describe, expect, it } from 'vitest';
import { ImageFormatError, ImageMagic, parseImage } from '../../src/images/image-file.js';

function image(magics: number[], entries: number[][]): Uint8Array {
  const parts: Buffer[] = magics.map((m) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(m);
    return b;
  });
  for (const entry of entries) {
    const size = Buffer.alloc(4);
    size.writeUInt32LE(entry.length);
    parts.push(size, Buffer.from(entry));
  }
  return new Uint8Array(Buffer.concat(parts));
}

describe('CRIU image files', () => {
  it('reads the type magic behind the common magic, and the size-prefixed entries', () => {
    const parsed = parseImage(image([ImageMagic.COMMON, ImageMagic.PSTREE], [[8, 1], [8, 2, 16, 3]]));
    expect(parsed.magic).toBe(ImageMagic.PSTREE);
    expect(parsed.entries.map((e) => [...e])).toEqual([[8, 1], [8, 2, 16, 3]]);
  });

  it('reads service images (stats) too', () => {
    expect(parseImage(image([ImageMagic.SERVICE, ImageMagic.STATS], [])).magic).toBe(ImageMagic.STATS);
  });

  it('refuses truncated images with a clear reason', () => {
    const whole = image([ImageMagic.COMMON, ImageMagic.PSTREE], [[1, 2, 3, 4]]);
    expect(() => parseImage(whole.subarray(0, whole.length - 1), 'pstree.img')).toThrow(ImageFormatError);
    expect(() => parseImage(whole.subarray(0, whole.length - 1), 'pstree.img')).toThrow(/pstree\.img: truncated entry/);
    expect(() => parseImage(whole.subarray(0, 2))).toThrow(/too short/);
  });
});
