import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  ImageFormatError,
  PAGE_SIZE,
  PageFlags,
  VmaStatus,
  parseImage,
  parsePagemap,
  parsePstree,
  parseVmas
} from "./chunk-F3SPZOCF.js";
import {
  decodeMessage,
  messageType,
  require_protobufjs
} from "./chunk-LZLFL3JA.js";
import {
  __toESM
} from "./chunk-KX5PMG5M.js";

// lib/images/image-summary.js
var import_protobufjs = __toESM(require_protobufjs(), 1);
var root = new import_protobufjs.default.Root();
root.add(messageType("TaskCore", [["taskState", 1, "uint32"], ["exitCode", 2, "uint32"], ["comm", 6, "string"]]));
root.add(messageType("Core", [["tc", 3, "TaskCore"]]));
root.add(messageType("RegFile", [["id", 1, "uint32"], ["flags", 2, "uint32"], ["pos", 3, "uint64"], ["name", 6, "string"], ["mode", 10, "uint32"]]));
root.add(messageType("InetSocket", [
  ["family", 3, "uint32"],
  ["type", 4, "uint32"],
  ["proto", 5, "uint32"],
  ["state", 6, "uint32"],
  ["srcPort", 7, "uint32"],
  ["dstPort", 8, "uint32"],
  ["srcAddr", 11, "uint32", "repeated"],
  ["dstAddr", 12, "uint32", "repeated"]
]));
root.add(messageType("UnixSocket", [["type", 3, "uint32"], ["state", 4, "uint32"], ["peer", 8, "uint32"], ["name", 11, "bytes"]]));
root.add(messageType("FileEntry", [["type", 1, "uint32"], ["id", 2, "uint32"], ["reg", 3, "RegFile"], ["isk", 4, "InetSocket"], ["usk", 16, "UnixSocket"]]));
root.resolveAll();
var type = (name) => root.lookupType(name);
var FILE_TYPES = {
  1: "file",
  2: "pipe",
  3: "fifo",
  4: "inet socket",
  5: "unix socket",
  6: "eventfd",
  7: "epoll",
  8: "inotify",
  9: "signalfd",
  10: "packet socket",
  11: "tty",
  12: "fanotify",
  13: "netlink socket",
  14: "namespace",
  15: "tun",
  16: "external",
  17: "timerfd",
  18: "memfd",
  19: "bpf map",
  20: "pidfd"
};
var TCP_STATES = { 1: "ESTABLISHED", 7: "CLOSE", 10: "LISTEN" };
function entries(bytes, message) {
  if (!bytes)
    return [];
  return parseImage(bytes).entries.map((entry) => decodeMessage(type(message), entry));
}
function kindOf(status) {
  if (status & VmaStatus.HEAP)
    return "heap";
  if (status & VmaStatus.STACK)
    return "stack";
  if (status & VmaStatus.MEMFD)
    return "memfd";
  if (status & (VmaStatus.VDSO | VmaStatus.VVAR | VmaStatus.VSYSCALL))
    return "special";
  if (status & VmaStatus.ANON_SHARED)
    return "shared anonymous";
  if (status & VmaStatus.FILE_SHARED)
    return "shared file";
  if (status & VmaStatus.FILE_PRIVATE)
    return "file";
  return "anonymous";
}
function ipv4(words) {
  const word = words?.[0] ?? 0;
  return [word & 255, word >>> 8 & 255, word >>> 16 & 255, word >>> 24].join(".");
}
function describeFile(file) {
  const kind = FILE_TYPES[file.type] ?? `type ${file.type}`;
  if (file.reg?.name)
    return { kind, description: file.reg.name };
  if (file.isk) {
    const s = file.isk;
    const proto = s.type === 1 ? "tcp" : s.type === 2 ? "udp" : `type ${s.type}`;
    const local = s.family === 2 ? `${ipv4(s.srcAddr)}:${s.srcPort}` : `[v6]:${s.srcPort}`;
    const remote = s.dstPort ? ` \u2192 ${s.family === 2 ? ipv4(s.dstAddr) : "[v6]"}:${s.dstPort}` : "";
    return { kind, description: `${proto} ${local}${remote} ${TCP_STATES[s.state] ?? `state ${s.state}`}` };
  }
  if (file.usk) {
    const name = file.usk.name && file.usk.name.length > 0 ? Buffer.from(file.usk.name).toString().replace(/\0/g, "@") : "(unnamed)";
    return { kind, description: name };
  }
  return { kind, description: "" };
}
async function summarizeCheckpoint(source) {
  const names = await source.names();
  const pstreeBytes = await source.read("pstree.img");
  let pstree = [];
  try {
    if (pstreeBytes)
      pstree = parsePstree(pstreeBytes);
  } catch (error) {
    if (!(error instanceof ImageFormatError))
      throw error;
  }
  const tasks = [];
  const memory = { dumpedBytes: 0, byKind: {} };
  const count = (kind, bytes) => {
    const slot = memory.byKind[kind] ??= { mappedBytes: 0, dumpedBytes: 0 };
    slot.dumpedBytes += bytes;
    memory.dumpedBytes += bytes;
  };
  for (const task of pstree) {
    const core = entries(await source.read(`core-${task.pid}.img`), "Core")[0];
    tasks.push({ pid: task.pid, ppid: task.ppid, pgid: task.pgid, sid: task.sid, threads: task.threads.length, comm: core?.tc?.comm ?? "?" });
    const vmas = parseVmas(await source.read(`mm-${task.pid}.img`));
    for (const vma of vmas) {
      const slot = memory.byKind[kindOf(vma.status)] ??= { mappedBytes: 0, dumpedBytes: 0 };
      slot.mappedBytes += vma.end - vma.start;
    }
    const pagemap = await source.read(`pagemap-${task.pid}.img`);
    for (const entry of pagemap ? parsePagemap(pagemap).entries : []) {
      if ((entry.flags & PageFlags.PRESENT) === 0)
        continue;
      const vma = vmas.find((v) => entry.vaddr >= v.start && entry.vaddr < v.end);
      count(vma ? kindOf(vma.status) : "anonymous", entry.nrPages * PAGE_SIZE);
    }
  }
  for (const name of names.filter((n) => /^pagemap-shmem-\d+\.img$/.test(n))) {
    for (const entry of parsePagemap(await source.read(name), name).entries) {
      if ((entry.flags & PageFlags.PRESENT) !== 0)
        count("shared anonymous", entry.nrPages * PAGE_SIZE);
    }
  }
  const files = entries(await source.read("files.img"), "FileEntry").map(describeFile);
  return { tasks, memory, files };
}
async function rootDirectoryMode(source) {
  const files = entries(await source.read("files.img"), "FileEntry");
  return files.find((f) => (f.reg?.name === "/" || f.reg?.name === ".") && typeof f.reg.mode === "number")?.reg?.mode;
}

export {
  summarizeCheckpoint,
  rootDirectoryMode
};
