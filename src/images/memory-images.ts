// The images that describe a dump's tasks and memory: pstree.img, pagemap-*.img and the VMAs of
// mm-*.img, decoded in one place for the image summary, the lazy-restore plan and restores.
import protobuf from 'protobufjs';
import { decodeMessage, forEachField, messageType, readUint64 } from '../protobuf.js';
import { ImageMagic, ImageFormatError, parseImage } from './image-file.js';

const root = new protobuf.Root();
root.add(messageType('PstreeEntry', [['pid', 1, 'uint32'], ['ppid', 2, 'uint32'], ['pgid', 3, 'uint32'], ['sid', 4, 'uint32'], ['threads', 5, 'uint32', 'repeated']]));
root.add(messageType('PagemapHead', [['pagesId', 1, 'uint32']]));
root.resolveAll();

export const PAGE_SIZE = 4096;
/** pagemap_entry flags (PE_*): where an entry's bytes are. */
export const PageFlags = { IN_PARENT: 1, LAZY: 2, PRESENT: 4 } as const;
/** vma_entry.status bits (CRIU's image.h). */
export const VmaStatus = {
  STACK: 1 << 1, VSYSCALL: 1 << 2, VDSO: 1 << 3, HEAP: 1 << 5, FILE_PRIVATE: 1 << 6, FILE_SHARED: 1 << 7,
  ANON_SHARED: 1 << 8, ANON_PRIVATE: 1 << 9, VVAR: 1 << 12, MEMFD: 1 << 14,
} as const;

export interface DumpedTask {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  threads: number[];
}

export interface PagemapEntry {
  vaddr: number;
  nrPages: number;
  /** PE_* flags, normalised from older images (no flags: present; in_parent: in the parent). */
  flags: number;
}

export interface Vma {
  start: number;
  end: number;
  status: number;
}

/**
 * protobufjs writes each type's decoder on its first use (a few ms each); a migration calls
 * this before the freeze so that the frozen path only runs decoders already built.
 */
export function warmUpImageDecoders(): void {
  for (const name of ['PstreeEntry', 'PagemapHead']) decodeMessage(root.lookupType(name), new Uint8Array(0));
}

/** A record decoded as `type`; a malformed one (protobufjs throws RangeErrors) is an ImageFormatError. */
function decode<T>(type: string, record: Uint8Array, file: string): T {
  try {
    return decodeMessage<T>(root.lookupType(type), record);
  } catch (cause) {
    throw new ImageFormatError(`${file}: a malformed ${type} record (${(cause as Error).message})`, { cause });
  }
}

export function parsePstree(bytes: Uint8Array, file = 'pstree.img'): DumpedTask[] {
  const image = parseImage(bytes, file);
  if (image.magic !== ImageMagic.PSTREE) throw new ImageFormatError(`${file}: not a pstree image`);
  return image.entries.map((entry) => decode<DumpedTask>('PstreeEntry', entry, file));
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;

/** A malformed record (the Reader throws RangeErrors past its end) is an ImageFormatError. */
function walk(type: string, record: Uint8Array, file: string, onField: Parameters<typeof forEachField>[1]): void {
  try {
    forEachField(record, onField);
  } catch (cause) {
    throw new ImageFormatError(`${file}: a malformed ${type} record (${(cause as Error).message})`, { cause });
  }
}

/**
 * A pagemap image: the pages image it points to, then its entries in address order. Entries
 * (pagemap_entry: vaddr 1, nr_pages 5 or the older 2, in_parent 3, flags 4) are walked field by
 * field: a large heap has thousands, read while a restore waits.
 */
export function parsePagemap(bytes: Uint8Array, file = 'pagemap'): { pagesId: number; entries: PagemapEntry[] } {
  const image = parseImage(bytes, file);
  if (image.magic !== ImageMagic.PAGEMAP || image.entries.length === 0) throw new ImageFormatError(`${file}: not a pagemap image`);
  const { pagesId } = decode<{ pagesId: number }>('PagemapHead', image.entries[0] as Uint8Array, file);
  const entries = image.entries.slice(1).map((record) => {
    let vaddr = 0;
    let nrPages: number | undefined;
    let compatNrPages = 0;
    let inParent = false;
    let flags: number | undefined;
    walk('PagemapEntry', record, file, (field, wireType, reader) => {
      if (wireType !== VARINT) return false;
      if (field === 1) vaddr = readUint64(reader);
      else if (field === 2) compatNrPages = reader.uint32();
      else if (field === 3) inParent = reader.bool();
      else if (field === 4) flags = reader.uint32();
      else if (field === 5) nrPages = readUint64(reader);
      else return false;
      return true;
    });
    return { vaddr, nrPages: nrPages ?? compatNrPages, flags: flags ?? (inParent ? PageFlags.IN_PARENT : PageFlags.PRESENT) };
  });
  return { pagesId, entries };
}

/** The VMAs of an mm image (mm_entry field 14; vma_entry: start 1, end 2, status 7). */
export function parseVmas(bytes: Uint8Array | undefined, file = 'mm.img'): Vma[] {
  if (!bytes) return [];
  const mm = parseImage(bytes, file).entries[0];
  if (!mm) return [];
  const vmas: Vma[] = [];
  walk('Mm', mm, file, (field, wireType, reader) => {
    if (field !== 14 || wireType !== LENGTH_DELIMITED) return false;
    const vma: Vma = { start: 0, end: 0, status: 0 };
    walk('Vma', reader.bytes(), file, (vmaField, vmaWire, vmaReader) => {
      if (vmaWire !== VARINT) return false;
      if (vmaField === 1) vma.start = readUint64(vmaReader);
      else if (vmaField === 2) vma.end = readUint64(vmaReader);
      else if (vmaField === 7) vma.status = vmaReader.uint32();
      else return false;
      return true;
    });
    vmas.push(vma);
    return true;
  });
  return vmas;
}
