import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  ErrorCode,
  FreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/images/images-dir.js
import { constants, openSync, closeSync } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
var LEFT_BY_FAILED_DUMP = /* @__PURE__ */ new Set(["dump.log"]);
async function prepareDumpDir(dir) {
  await mkdir(dir, { recursive: true });
  const entries = (await readdir(dir)).filter((name) => !LEFT_BY_FAILED_DUMP.has(name));
  if (entries.length > 0) {
    throw new FreezedryError(ErrorCode.IMAGES_DIR_NOT_EMPTY, `Images directory ${dir} is not empty (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", \u2026" : ""}); choose an empty or new directory, so no earlier checkpoint is overwritten`, { path: dir });
  }
}
async function removePartialImages(dir, keep) {
  for (const name of await readdir(dir).catch(() => [])) {
    const entry = path.join(dir, name);
    if (entry === keep)
      continue;
    if (keep.startsWith(`${entry}/`))
      await removePartialImages(entry, keep);
    else
      await rm(entry, { recursive: true, force: true });
  }
}
async function assertImagesPresent(dir) {
  const info = await stat(dir).catch(() => void 0);
  if (!info?.isDirectory()) {
    throw new FreezedryError(ErrorCode.IMAGES_MISSING, `Images directory ${dir} does not exist`, { path: dir });
  }
  const names = new Set(await readdir(dir));
  const missing = ["inventory.img", "pstree.img"].filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw new FreezedryError(ErrorCode.IMAGES_MISSING, `${dir} holds no complete checkpoint: ${missing.join(" and ")} missing`, { path: dir, missing });
  }
}
function openDirFd(dir) {
  return openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}
function closeFd(fd) {
  if (fd !== void 0)
    closeSync(fd);
}

export {
  prepareDumpDir,
  removePartialImages,
  assertImagesPresent,
  openDirFd,
  closeFd
};
