// The pagemap and mm images are walked field by field (not through a generated decoder): the
// walk must read what protobuf encoders write, the older pagemap fields included, and skip
// fields it does not know.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { ImageFormatError, ImageMagic } from '../../src/images/image-file.js';
import { PageFlags, parsePagemap, parseVmas } from '../../src/images/memory-images.js';

function image(magic: number, records: Uint8Array[]): Uint8Array {
  const parts = [Buffer.from(new Uint32Array([ImageMagic.COMMON, magic]).buffer)];
  for (const record of records) parts.push(Buffer.from(new Uint32Array([record.length]).buffer), Buffer.from(record));
  return new Uint8Array(Buffer.concat(parts));
}

const message = (write: (w: protobuf.Writer) => void) => {
  const writer = protobuf.Writer.create();
  write(writer);
  return writer.finish();
};

describe('memory images', () => {
  it('reads pagemap entries: 64-bit addresses, flags, and the older nr_pages / in_parent fields', () => {
    const head = message((w) => w.uint32((1 << 3) | 0).uint32(7));
    const current = message((w) => w.uint32((1 << 3) | 0).uint64(0x7ffd_1234_5000).uint32((4 << 3) | 0).uint32(PageFlags.LAZY | PageFlags.PRESENT).uint32((5 << 3) | 0).uint64(2 ** 33));
    const older = message((w) => w.uint32((1 << 3) | 0).uint64(0x1000).uint32((2 << 3) | 0).uint32(3).uint32((3 << 3) | 0).bool(true));
    const plain = message((w) => w.uint32((1 << 3) | 0).uint64(0x2000).uint32((2 << 3) | 0).uint32(1));
    // An unknown field of each wire type, which the walk skips.
    const extra = message((w) => w.uint32((9 << 3) | 2).bytes(new Uint8Array([1, 2, 3])).uint32((10 << 3) | 1).fixed64(5).uint32((1 << 3) | 0).uint64(0x3000).uint32((5 << 3) | 0).uint64(4));
    expect(parsePagemap(image(ImageMagic.PAGEMAP, [head, current, older, plain, extra]))).toEqual({
      pagesId: 7,
      entries: [
        { vaddr: 0x7ffd_1234_5000, nrPages: 2 ** 33, flags: PageFlags.LAZY | PageFlags.PRESENT },
        { vaddr: 0x1000, nrPages: 3, flags: PageFlags.IN_PARENT },
        { vaddr: 0x2000, nrPages: 1, flags: PageFlags.PRESENT },
        { vaddr: 0x3000, nrPages: 4, flags: PageFlags.PRESENT },
      ],
    });
  });

  it("reads the VMAs of an mm image among its other fields", () => {
    const vma = (start: number, end: number, status: number) =>
      message((w) => w.uint32((1 << 3) | 0).uint64(start).uint32((2 << 3) | 0).uint64(end).uint32((5 << 3) | 0).uint32(3).uint32((7 << 3) | 0).uint32(status));
    const mm = message((w) => {
      w.uint32((1 << 3) | 0).uint64(0x400000); // mm_start_code
      w.uint32((14 << 3) | 2).bytes(vma(0x7f00_0000_0000, 0x7f00_0010_0000, 1 << 9));
      w.uint32((13 << 3) | 2).bytes(new Uint8Array([8, 1])); // mm_saved_auxv
      w.uint32((14 << 3) | 2).bytes(vma(0x1000_0000, 0x1000_2000, 1 << 5));
    });
    expect(parseVmas(image(ImageMagic.MM, [mm]))).toEqual([
      { start: 0x7f00_0000_0000, end: 0x7f00_0010_0000, status: 1 << 9 },
      { start: 0x1000_0000, end: 0x1000_2000, status: 1 << 5 },
    ]);
  });

  it('calls a record cut short an ImageFormatError naming the file', () => {
    const head = message((w) => w.uint32((1 << 3) | 0).uint32(1));
    const cut = message((w) => w.uint32((1 << 3) | 0).uint64(0x7ffd_1234_5000)).subarray(0, 3);
    expect(() => parsePagemap(image(ImageMagic.PAGEMAP, [head, cut]), 'pagemap-9.img')).toThrow(ImageFormatError);
    expect(() => parsePagemap(image(ImageMagic.PAGEMAP, [head, cut]), 'pagemap-9.img')).toThrow(/pagemap-9\.img: a malformed PagemapEntry/);
  });
});
