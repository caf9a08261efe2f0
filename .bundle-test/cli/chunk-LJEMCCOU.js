import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  Archive
} from "./chunk-PTYGFORS.js";
import {
  ErrorCode,
  FreezedryError,
  ValidationError
} from "./chunk-KX5PMG5M.js";

// lib/store.js
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
var DEFAULT_STORE = "/var/lib/freezedry/checkpoints";
var NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
var SUFFIX = ".tar.zst";
function storeRoot(root) {
  return path.resolve(root ?? process.env.FREEZEDRY_STORE ?? DEFAULT_STORE);
}
function storePath(name, root) {
  if (typeof name !== "string" || !NAME.test(name) || name.endsWith(SUFFIX)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid checkpoint name '${name}': use letters, digits, '.', '_' and '-'`);
  }
  return path.join(storeRoot(root), `${name}${SUFFIX}`);
}
async function newStoreEntry(name, root) {
  const file = storePath(name, root);
  await mkdir(path.dirname(file), { recursive: true, mode: 448 });
  return file;
}
async function findStored(name, root) {
  const file = storePath(name, root);
  if (!await stat(file).catch(() => void 0)) {
    throw new FreezedryError(ErrorCode.CHECKPOINT_NOT_FOUND, `No checkpoint named '${name}' in ${storeRoot(root)}`, { name });
  }
  return file;
}
async function listCheckpoints(root) {
  const dir = storeRoot(root);
  const names = (await readdir(dir).catch(() => [])).filter((n) => n.endsWith(SUFFIX)).sort();
  const list = [];
  for (const fileName of names) {
    const file = path.join(dir, fileName);
    const name = fileName.slice(0, -SUFFIX.length);
    try {
      const archive = await Archive.open(file);
      const { manifest } = archive;
      list.push({
        name,
        kind: manifest.container ? "container" : "process",
        container: manifest.container?.id,
        file,
        createdAt: manifest.createdAt,
        bytes: archive.fileSize,
        pid: manifest.pid,
        tasks: manifest.summary.tasks.length,
        command: manifest.command ?? manifest.summary.tasks[0]?.comm ?? ""
      });
      archive.close();
    } catch (error) {
      list.push({ name, kind: "process", file, createdAt: "", bytes: (await stat(file)).size, tasks: 0, command: `(unreadable: ${error.message})` });
    }
  }
  return list;
}
async function removeCheckpoint(name, root) {
  const file = await findStored(name, root);
  await rm(file);
  return file;
}

export {
  DEFAULT_STORE,
  storeRoot,
  storePath,
  newStoreEntry,
  findStored,
  listCheckpoints,
  removeCheckpoint
};
