import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  decodeMessage,
  messageType,
  require_protobufjs
} from "./chunk-LZLFL3JA.js";
import {
  __toESM
} from "./chunk-KX5PMG5M.js";

// lib/images/memory-images.js
var import_protobufjs = __toESM(require_protobufjs(), 1);

// lib/images/image-file.js
import { readFile } from "node:fs/promises";
var ImageMagic = {
  COMMON: 1414939417,
  // precedes the type magic of ordinary images
  SERVICE: 1427134784,
  // precedes the type magic of service images (stats, irmap cache)
  INVENTORY: 1479618838,
  PSTREE: 1344745520,
  PAGEMAP: 1443381285,
  STATS: 1460220678
};
var ImageFormatError = class extends Error {
};
function parseImage(bytes, file = "image") {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4)
    throw new ImageFormatError(`${file}: too short for an image header`);
  let offset = 0;
  let magic = view.getUint32(offset, true);
  offset += 4;
  if (magic === ImageMagic.COMMON || magic === ImageMagic.SERVICE) {
    if (bytes.byteLength < 8)
      throw new ImageFormatError(`${file}: truncated image header`);
    magic = view.getUint32(offset, true);
    offset += 4;
  }
  const entries = [];
  while (offset < bytes.byteLength) {
    if (offset + 4 > bytes.byteLength)
      throw new ImageFormatError(`${file}: truncated entry size at byte ${offset}`);
    const size = view.getUint32(offset, true);
    offset += 4;
    if (offset + size > bytes.byteLength)
      throw new ImageFormatError(`${file}: truncated entry at byte ${offset}`);
    entries.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return { magic, entries };
}
async function readImage(file, expectedMagic) {
  const image = parseImage(await readFile(file), file);
  if (image.magic !== expectedMagic) {
    throw new ImageFormatError(`${file}: magic 0x${image.magic.toString(16)} is not 0x${expectedMagic.toString(16)}`);
  }
  return image;
}

// lib/images/memory-images.js
var root = new import_protobufjs.default.Root();
root.add(messageType("PstreeEntry", [["pid", 1, "uint32"], ["ppid", 2, "uint32"], ["pgid", 3, "uint32"], ["sid", 4, "uint32"], ["threads", 5, "uint32", "repeated"]]));
root.add(messageType("PagemapHead", [["pagesId", 1, "uint32"]]));
root.add(messageType("PagemapEntry", [["vaddr", 1, "uint64"], ["compatNrPages", 2, "uint32"], ["inParent", 3, "bool"], ["flags", 4, "uint32"], ["nrPages", 5, "uint64"]]));
root.add(messageType("Vma", [["start", 1, "uint64"], ["end", 2, "uint64"], ["shmid", 4, "uint64"], ["prot", 5, "uint32"], ["flags", 6, "uint32"], ["status", 7, "uint32"]]));
root.add(messageType("Mm", [["vmas", 14, "Vma", "repeated"]]));
root.resolveAll();
var PAGE_SIZE = 4096;
var PageFlags = { IN_PARENT: 1, LAZY: 2, PRESENT: 4 };
var VmaStatus = {
  STACK: 1 << 1,
  VSYSCALL: 1 << 2,
  VDSO: 1 << 3,
  HEAP: 1 << 5,
  FILE_PRIVATE: 1 << 6,
  FILE_SHARED: 1 << 7,
  ANON_SHARED: 1 << 8,
  ANON_PRIVATE: 1 << 9,
  VVAR: 1 << 12,
  MEMFD: 1 << 14
};
function warmUpImageDecoders() {
  for (const name of ["PstreeEntry", "PagemapHead", "PagemapEntry", "Vma", "Mm"])
    decodeMessage(root.lookupType(name), new Uint8Array(0));
}
function decode(type, record, file) {
  try {
    return decodeMessage(root.lookupType(type), record);
  } catch (cause) {
    throw new ImageFormatError(`${file}: a malformed ${type} record (${cause.message})`, { cause });
  }
}
function parsePstree(bytes, file = "pstree.img") {
  const image = parseImage(bytes, file);
  if (image.magic !== ImageMagic.PSTREE)
    throw new ImageFormatError(`${file}: not a pstree image`);
  return image.entries.map((entry) => decode("PstreeEntry", entry, file));
}
function parsePagemap(bytes, file = "pagemap") {
  const image = parseImage(bytes, file);
  if (image.magic !== ImageMagic.PAGEMAP || image.entries.length === 0)
    throw new ImageFormatError(`${file}: not a pagemap image`);
  const { pagesId } = decode("PagemapHead", image.entries[0], file);
  const entries = image.entries.slice(1).map((record) => {
    const e = decode("PagemapEntry", record, file);
    return { vaddr: e.vaddr, nrPages: e.nrPages ?? e.compatNrPages ?? 0, flags: e.flags ?? (e.inParent ? PageFlags.IN_PARENT : PageFlags.PRESENT) };
  });
  return { pagesId, entries };
}
function parseVmas(bytes, file = "mm.img") {
  if (!bytes)
    return [];
  const mm = parseImage(bytes, file).entries[0];
  return mm ? decode("Mm", mm, file).vmas ?? [] : [];
}

// lib/images/image-source.js
import { readFile as readFile2, readdir } from "node:fs/promises";
import path from "node:path";
function directorySource(dir) {
  return {
    names: () => readdir(dir),
    read: (name) => readFile2(path.join(dir, name)).catch(() => void 0)
  };
}

// lib/images/stats.js
var import_protobufjs2 = __toESM(require_protobufjs(), 1);
import path2 from "node:path";
var root2 = new import_protobufjs2.default.Root();
root2.add(messageType("DumpStats", [
  ["freezingTime", 1, "uint32"],
  ["frozenTime", 2, "uint32"],
  ["memdumpTime", 3, "uint32"],
  ["memwriteTime", 4, "uint32"],
  ["pagesScanned", 5, "uint64"],
  ["pagesSkippedParent", 6, "uint64"],
  ["pagesWritten", 7, "uint64"],
  ["irmapResolve", 8, "uint32"],
  ["pagesLazy", 9, "uint64"],
  ["pagePipes", 10, "uint64"],
  ["pagePipeBufs", 11, "uint64"],
  ["shpagesScanned", 12, "uint64"],
  ["shpagesSkippedParent", 13, "uint64"],
  ["shpagesWritten", 14, "uint64"]
]));
root2.add(messageType("RestoreStats", [
  ["pagesCompared", 1, "uint64"],
  ["pagesSkippedCow", 2, "uint64"],
  ["forkingTime", 3, "uint32"],
  ["restoreTime", 4, "uint32"],
  ["pagesRestored", 5, "uint64"]
]));
root2.add(messageType("StatsEntry", [["dump", 1, "DumpStats"], ["restore", 2, "RestoreStats"]]));
root2.resolveAll();
var StatsEntry = root2.lookupType("StatsEntry");
async function readStats(file) {
  try {
    const image = await readImage(file, ImageMagic.STATS);
    return image.entries[0] ? decodeMessage(StatsEntry, image.entries[0]) : void 0;
  } catch {
    return void 0;
  }
}
var ms = (us) => (us ?? 0) / 1e3;
async function readDumpStats(dir) {
  const d = (await readStats(path2.join(dir, "stats-dump")))?.dump;
  if (!d)
    return void 0;
  return {
    freezingTimeMs: ms(d.freezingTime),
    frozenTimeMs: ms(d.frozenTime),
    memdumpTimeMs: ms(d.memdumpTime),
    memwriteTimeMs: ms(d.memwriteTime),
    pagesScanned: d.pagesScanned ?? 0,
    pagesSkippedParent: d.pagesSkippedParent ?? 0,
    pagesWritten: d.pagesWritten ?? 0,
    pagesLazy: d.pagesLazy ?? 0
  };
}
async function readRestoreStats(dir) {
  const r = (await readStats(path2.join(dir, "stats-restore")))?.restore;
  if (!r)
    return void 0;
  return {
    forkingTimeMs: ms(r.forkingTime),
    restoreTimeMs: ms(r.restoreTime),
    pagesRestored: r.pagesRestored ?? 0,
    pagesCompared: r.pagesCompared ?? 0,
    pagesSkippedCow: r.pagesSkippedCow ?? 0
  };
}

export {
  ImageFormatError,
  parseImage,
  PAGE_SIZE,
  PageFlags,
  VmaStatus,
  warmUpImageDecoders,
  parsePstree,
  parsePagemap,
  parseVmas,
  directorySource,
  readDumpStats,
  readRestoreStats
};
