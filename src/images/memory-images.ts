// The images that describe a dump's tasks and memory: pstree.img, pagemap-*.img and the VMAs of
// mm-*.img, decoded in one place for the image summary, the lazy-restore plan and restores.
import { native } from '../native/binding.js';
import { decodeMessage, messageType, schemaRoot } from '../protobuf.js';
import { ImageMagic, ImageFormatError, parseImage } from './image-file.js';

const root = schemaRoot();
root.add(messageType('PstreeEntry', [['pid', 1, 'uint32'], ['ppid', 2, 'uint32'], ['pgid', 3, 'uint32'], ['sid', 4, 'uint32'], ['threads', 5, 'uint32', 'repeated']]));
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

/** A malformed image (the native parser's EINVAL) is an ImageFormatError naming the file. */
function parsedNatively<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (cause) {
    throw new ImageFormatError(`${file}: ${(cause as { detail?: string }).detail ?? (cause as Error).message}`, { cause });
  }
}

/**
 * A pagemap image: the pages image it points to, then its entries in address order. Parsed in
 * C++ (native/core/memory_images.cc): a large heap has thousands of entries, read while a
 * restore waits.
 */
export function parsePagemap(bytes: Uint8Array, file = 'pagemap'): { pagesId: number; entries: PagemapEntry[] } {
  const { pagesId, runs } = parsedNatively(file, () => native().parsePagemap(bytes));
  const entries: PagemapEntry[] = [];
  for (let i = 0; i < runs.length; i += 3) entries.push({ vaddr: runs[i] as number, nrPages: runs[i + 1] as number, flags: runs[i + 2] as number });
  return { pagesId, entries };
}

/** The VMAs of an mm image, in address order (parsed in C++ as the pagemap is). */
export function parseVmas(bytes: Uint8Array | undefined, file = 'mm.img'): Vma[] {
  if (!bytes) return [];
  const rows = parsedNatively(file, () => native().parseVmas(bytes));
  const vmas: Vma[] = [];
  for (let i = 0; i < rows.length; i += 3) vmas.push({ start: rows[i] as number, end: rows[i + 1] as number, status: rows[i + 2] as number });
  return vmas;
}
