// What a checkpoint holds, read from its images: the process tree, memory by mapping kind,
// open files and sockets. Used for archive manifests and `freezedry inspect`.
import { decodeMessage, messageType, schemaRoot } from '../protobuf.js';
import { ImageFormatError, parseImage } from './image-file.js';
import type { ImageSource } from './image-source.js';
import { PAGE_SIZE, PageFlags, VmaStatus as VMA, parsePagemap, parsePstree, parseVmas, type DumpedTask } from './memory-images.js';

const root = schemaRoot();
root.add(messageType('TaskCore', [['taskState', 1, 'uint32'], ['exitCode', 2, 'uint32'], ['comm', 6, 'string']]));
root.add(messageType('Core', [['tc', 3, 'TaskCore']]));
root.add(messageType('RegFile', [['id', 1, 'uint32'], ['flags', 2, 'uint32'], ['pos', 3, 'uint64'], ['name', 6, 'string'], ['mode', 10, 'uint32']]));
root.add(
  messageType('InetSocket', [
    ['family', 3, 'uint32'], ['type', 4, 'uint32'], ['proto', 5, 'uint32'], ['state', 6, 'uint32'],
    ['srcPort', 7, 'uint32'], ['dstPort', 8, 'uint32'], ['srcAddr', 11, 'uint32', 'repeated'], ['dstAddr', 12, 'uint32', 'repeated'],
  ]),
);
root.add(messageType('UnixSocket', [['type', 3, 'uint32'], ['state', 4, 'uint32'], ['peer', 8, 'uint32'], ['name', 11, 'bytes']]));
root.add(messageType('FileEntry', [['type', 1, 'uint32'], ['id', 2, 'uint32'], ['reg', 3, 'RegFile'], ['isk', 4, 'InetSocket'], ['usk', 16, 'UnixSocket']]));
root.resolveAll();
const type = (name: string) => root.lookupType(name);

// fd_types in files.img.
const FILE_TYPES: Record<number, string> = {
  1: 'file', 2: 'pipe', 3: 'fifo', 4: 'inet socket', 5: 'unix socket', 6: 'eventfd', 7: 'epoll', 8: 'inotify',
  9: 'signalfd', 10: 'packet socket', 11: 'tty', 12: 'fanotify', 13: 'netlink socket', 14: 'namespace', 15: 'tun',
  16: 'external', 17: 'timerfd', 18: 'memfd', 19: 'bpf map', 20: 'pidfd',
};
const TCP_STATES: Record<number, string> = { 1: 'ESTABLISHED', 7: 'CLOSE', 10: 'LISTEN' };

export type MappingKind = 'heap' | 'stack' | 'anonymous' | 'shared anonymous' | 'file' | 'shared file' | 'memfd' | 'special';

export interface TaskSummary {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  threads: number;
  comm: string;
}

export interface MemorySummary {
  /** Bytes of page data in the checkpoint. */
  dumpedBytes: number;
  /** Virtual size and dumped bytes, by kind of mapping. */
  byKind: Partial<Record<MappingKind, { mappedBytes: number; dumpedBytes: number }>>;
}

export interface FileSummary {
  kind: string;
  /** A path, a socket address, or another short description. */
  description: string;
}

export interface CheckpointSummary {
  tasks: TaskSummary[];
  memory: MemorySummary;
  files: FileSummary[];
}

function entries<T>(bytes: Uint8Array | undefined, message: string): T[] {
  if (!bytes) return [];
  return parseImage(bytes).entries.map((entry) => decodeMessage<T>(type(message), entry));
}

function kindOf(status: number): MappingKind {
  if (status & VMA.HEAP) return 'heap';
  if (status & VMA.STACK) return 'stack';
  if (status & VMA.MEMFD) return 'memfd';
  if (status & (VMA.VDSO | VMA.VVAR | VMA.VSYSCALL)) return 'special';
  if (status & VMA.ANON_SHARED) return 'shared anonymous';
  if (status & VMA.FILE_SHARED) return 'shared file';
  if (status & VMA.FILE_PRIVATE) return 'file';
  return 'anonymous';
}

function ipv4(words: number[] | undefined): string {
  const word = words?.[0] ?? 0;
  return [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24].join('.');
}

function describeFile(file: { type: number; reg?: { name?: string }; isk?: Record<string, number | number[]>; usk?: { name?: Uint8Array; state?: number } }): FileSummary {
  const kind = FILE_TYPES[file.type] ?? `type ${file.type}`;
  if (file.reg?.name) return { kind, description: file.reg.name };
  if (file.isk) {
    const s = file.isk as { family: number; type: number; state: number; srcPort: number; dstPort: number; srcAddr?: number[]; dstAddr?: number[] };
    const proto = s.type === 1 ? 'tcp' : s.type === 2 ? 'udp' : `type ${s.type}`;
    const local = s.family === 2 ? `${ipv4(s.srcAddr)}:${s.srcPort}` : `[v6]:${s.srcPort}`;
    const remote = s.dstPort ? ` → ${s.family === 2 ? ipv4(s.dstAddr) : '[v6]'}:${s.dstPort}` : '';
    return { kind, description: `${proto} ${local}${remote} ${TCP_STATES[s.state] ?? `state ${s.state}`}` };
  }
  if (file.usk) {
    const name = file.usk.name && file.usk.name.length > 0 ? Buffer.from(file.usk.name).toString().replace(/\0/g, '@') : '(unnamed)';
    return { kind, description: name };
  }
  return { kind, description: '' };
}

export async function summarizeCheckpoint(source: ImageSource): Promise<CheckpointSummary> {
  const names = await source.names();
  const pstreeBytes = await source.read('pstree.img');
  let pstree: DumpedTask[] = [];
  try {
    if (pstreeBytes) pstree = parsePstree(pstreeBytes);
  } catch (error) {
    if (!(error instanceof ImageFormatError)) throw error; // a summary of what can be read
  }
  const tasks: TaskSummary[] = [];
  const memory: MemorySummary = { dumpedBytes: 0, byKind: {} };
  const count = (kind: MappingKind, bytes: number) => {
    const slot = (memory.byKind[kind] ??= { mappedBytes: 0, dumpedBytes: 0 });
    slot.dumpedBytes += bytes;
    memory.dumpedBytes += bytes;
  };
  for (const task of pstree) {
    const core = entries<{ tc?: { comm?: string } }>(await source.read(`core-${task.pid}.img`), 'Core')[0];
    tasks.push({ pid: task.pid, ppid: task.ppid, pgid: task.pgid, sid: task.sid, threads: task.threads.length, comm: core?.tc?.comm ?? '?' });

    const vmas = parseVmas(await source.read(`mm-${task.pid}.img`));
    for (const vma of vmas) {
      const slot = (memory.byKind[kindOf(vma.status)] ??= { mappedBytes: 0, dumpedBytes: 0 });
      slot.mappedBytes += vma.end - vma.start;
    }
    const pagemap = await source.read(`pagemap-${task.pid}.img`);
    for (const entry of pagemap ? parsePagemap(pagemap).entries : []) {
      if ((entry.flags & PageFlags.PRESENT) === 0) continue;
      const vma = vmas.find((v) => entry.vaddr >= v.start && entry.vaddr < v.end);
      count(vma ? kindOf(vma.status) : 'anonymous', entry.nrPages * PAGE_SIZE);
    }
  }
  for (const name of names.filter((n) => /^pagemap-shmem-\d+\.img$/.test(n))) {
    for (const entry of parsePagemap((await source.read(name)) as Uint8Array, name).entries) {
      if ((entry.flags & PageFlags.PRESENT) !== 0) count('shared anonymous', entry.nrPages * PAGE_SIZE);
    }
  }
  const files = entries<Parameters<typeof describeFile>[0]>(await source.read('files.img'), 'FileEntry').map(describeFile);
  return { tasks, memory, files };
}

/**
 * The mode CRIU recorded for the tree's root directory (its file named "/"), which a restore
 * checks against the root it is given; undefined when the images do not say.
 */
export async function rootDirectoryMode(source: ImageSource): Promise<number | undefined> {
  const files = entries<{ reg?: { name?: string; mode?: number } }>(await source.read('files.img'), 'FileEntry');
  return files.find((f) => (f.reg?.name === '/' || f.reg?.name === '.') && typeof f.reg.mode === 'number')?.reg?.mode;
}
