// Which pages a lazy restore serves, and from where: per process, the PE_LAZY runs of its
// pagemap (split at VMA boundaries, since one UFFDIO_COPY must stay in one VMA), each with the
// offset of its bytes in its pages image. Stack and heap runs are marked to go first.
import type { ImageSource } from '../images/image-source.js';
import { PAGE_SIZE as PAGE, PageFlags, VmaStatus, parsePagemap, parsePstree, parseVmas, type Vma } from '../images/memory-images.js';

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
  const pids = parsePstree(pstree).map((task) => task.pid);
  const plan: LazyPlan = { table: {}, images: [], eager: new Map(), lazyPages: 0, eagerPages: 0, pids: [] };

  for (const pid of pids) {
    const bytes = await source.read(`pagemap-${pid}.img`);
    if (!bytes) continue;
    const pagemap = parsePagemap(bytes, `pagemap-${pid}.img`);
    const imageName = `pages-${pagemap.pagesId}.img`;
    let imageIndex = plan.images.indexOf(imageName);
    if (imageIndex < 0) imageIndex = plan.images.push(imageName) - 1;
    const eager = plan.eager.get(imageName) ?? [];
    plan.eager.set(imageName, eager);

    const vmas = parseVmas(await source.read(`mm-${pid}.img`));
    const rows: number[] = [];
    const remoteImage = plan.pids.push(pid) - 1;
    let offset = 0;
    for (const { vaddr, nrPages, flags } of pagemap.entries) {
      const bytes = nrPages * PAGE;
      if (options.remote && flags & PageFlags.LAZY && (flags & PageFlags.PRESENT) === 0) {
        for (const piece of splitAtVmas(vaddr, bytes, vmas)) rows.push(piece.start, piece.length, remoteImage, piece.start, piece.priority ? 1 : 0);
        plan.lazyPages += bytes / PAGE;
        continue;
      }
      if ((flags & PageFlags.PRESENT) === 0) continue; // in a parent image: nothing here
      if (flags & PageFlags.LAZY) {
        for (const piece of splitAtVmas(vaddr, bytes, vmas)) {
          rows.push(piece.start, piece.length, imageIndex, offset + (piece.start - vaddr), piece.priority ? 1 : 0);
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

/** The pieces of a run, one per VMA it crosses (mm.img lists VMAs in address order). */
function splitAtVmas(start: number, length: number, vmas: Vma[]): { start: number; length: number; priority: boolean }[] {
  const end = start + length;
  const pieces: { start: number; length: number; priority: boolean }[] = [];
  // Binary search for the first VMA ending after `start`: a Node heap has thousands of both.
  let low = 0;
  let high = vmas.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((vmas[mid] as Vma).end <= start) low = mid + 1;
    else high = mid;
  }
  for (let i = low; i < vmas.length && (vmas[i] as Vma).start < end; i++) {
    const vma = vmas[i] as Vma;
    const from = Math.max(start, vma.start);
    const to = Math.min(end, vma.end);
    if (from < to) pieces.push({ start: from, length: to - from, priority: (vma.status & (VmaStatus.STACK | VmaStatus.HEAP)) !== 0 });
  }
  return pieces.length > 0 ? pieces : [{ start, length, priority: false }];
}
