// Which pages a lazy restore serves, and from where: per process, the PE_LAZY runs of its
// pagemap (split at VMA boundaries, since one UFFDIO_COPY must stay in one VMA), each with the
// offset of its bytes in its pages image. Stack and heap runs are marked to go first.
import protobuf from 'protobufjs';
import { parseImage, ImageMagic } from '../images/image-file.js';
import type { ImageSource } from '../images/image-source.js';
import { decodeMessage, messageType } from '../protobuf.js';

const root = new protobuf.Root();
root.add(messageType('PstreeEntry', [['pid', 1, 'uint32']]));
root.add(messageType('PagemapHead', [['pagesId', 1, 'uint32']]));
root.add(messageType('PagemapEntry', [['vaddr', 1, 'uint64'], ['compatNrPages', 2, 'uint32'], ['inParent', 3, 'bool'], ['flags', 4, 'uint32'], ['nrPages', 5, 'uint64']]));
root.add(messageType('Vma', [['start', 1, 'uint64'], ['end', 2, 'uint64'], ['status', 7, 'uint32']]));
root.add(messageType('Mm', [['vmas', 14, 'Vma', 'repeated']]));
root.resolveAll();

const PAGE = 4096;
const PE_PARENT = 1;
const PE_LAZY = 2;
const PE_PRESENT = 4;
const VMA_STACK = 1 << 1;
const VMA_HEAP = 1 << 5;

export interface LazyPlan {
  /** Per image pid: rows of [address, length, image index, offset, priority]. */
  table: Record<number, Float64Array>;
  /** Pages image names, by index. */
  images: string[];
  /** Per pages image: the byte runs CRIU reads itself (not lazy), as [offset, length]. */
  eager: Map<string, [number, number][]>;
  lazyPages: number;
  eagerPages: number;
  /** Image pids, in the order a remote source numbers them. */
  pids: number[];
}

/**
 * `remote`: the lazy pages are not in the images at all (a `criu dump --lazy-pages` source keeps
 * them); each task is then its own image, addressed by dump-time address, for GET requests.
 */
export async function planLazyRestore(source: ImageSource, options: { remote?: boolean } = {}): Promise<LazyPlan> {
  const pstree = await source.read('pstree.img');
  if (!pstree) throw new Error('pstree.img missing');
  const pids = parseImage(pstree).entries.map((entry) => decodeMessage<{ pid: number }>(root.lookupType('PstreeEntry'), entry).pid);
  const plan: LazyPlan = { table: {}, images: [], eager: new Map(), lazyPages: 0, eagerPages: 0, pids: [] };

  for (const pid of pids) {
    const pagemap = await source.read(`pagemap-${pid}.img`);
    if (!pagemap) continue;
    const image = parseImage(pagemap);
    if (image.magic !== ImageMagic.PAGEMAP || image.entries.length === 0) continue;
    const { pagesId } = decodeMessage<{ pagesId: number }>(root.lookupType('PagemapHead'), image.entries[0] as Uint8Array);
    const imageName = `pages-${pagesId}.img`;
    let imageIndex = plan.images.indexOf(imageName);
    if (imageIndex < 0) imageIndex = plan.images.push(imageName) - 1;
    const eager = plan.eager.get(imageName) ?? [];
    plan.eager.set(imageName, eager);

    const mm = await source.read(`mm-${pid}.img`);
    const vmas = mm ? decodeMessage<{ vmas?: { start: number; end: number; status: number }[] }>(root.lookupType('Mm'), parseImage(mm).entries[0] as Uint8Array).vmas ?? [] : [];
    const rows: number[] = [];
    const remoteImage = plan.pids.push(pid) - 1;
    let offset = 0;
    for (const record of image.entries.slice(1)) {
      const entry = decodeMessage<{ vaddr: number; flags?: number; nrPages?: number; compatNrPages?: number; inParent?: boolean }>(root.lookupType('PagemapEntry'), record);
      const flags = entry.flags ?? (entry.inParent ? PE_PARENT : PE_PRESENT);
      const bytes = (entry.nrPages ?? entry.compatNrPages ?? 0) * PAGE;
      if (options.remote && flags & PE_LAZY && (flags & PE_PRESENT) === 0) {
        for (const piece of splitAtVmas(entry.vaddr, bytes, vmas)) rows.push(piece.start, piece.length, remoteImage, piece.start, piece.priority ? 1 : 0);
        plan.lazyPages += bytes / PAGE;
        continue;
      }
      if ((flags & PE_PRESENT) === 0) continue; // in a parent image: nothing here
      if (flags & PE_LAZY) {
        for (const piece of splitAtVmas(entry.vaddr, bytes, vmas)) {
          rows.push(piece.start, piece.length, imageIndex, offset + (piece.start - entry.vaddr), piece.priority ? 1 : 0);
        }
        plan.lazyPages += bytes / PAGE;
      } else {
        const last = eager.at(-1);
        if (last && last[0] + last[1] === offset) last[1] += bytes;
        else eager.push([offset, bytes]);
        plan.eagerPages += bytes / PAGE;
      }
      offset += bytes;
    }
    plan.table[pid] = Float64Array.from(rows);
  }
  return plan;
}

function splitAtVmas(start: number, length: number, vmas: { start: number; end: number; status: number }[]): { start: number; length: number; priority: boolean }[] {
  const end = start + length;
  const pieces: { start: number; length: number; priority: boolean }[] = [];
  for (const vma of vmas) {
    const from = Math.max(start, vma.start);
    const to = Math.min(end, vma.end);
    if (from < to) pieces.push({ start: from, length: to - from, priority: (vma.status & (VMA_STACK | VMA_HEAP)) !== 0 });
  }
  return pieces.length > 0 ? pieces : [{ start, length, priority: false }];
}
