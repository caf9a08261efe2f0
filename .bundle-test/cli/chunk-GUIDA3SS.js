import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  ErrorCode,
  FreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/native/binding.js
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
var packageRoot = fileURLToPath(new URL("../../", import.meta.url));
var loaded;
function nativeTool(name) {
  const file = path.join(packageRoot, "build", "Release", name);
  if (!existsSync(file)) {
    throw new FreezedryError(ErrorCode.ADDON_LOAD, `${file} is missing. Run 'npm install' (or 'npm run build:native') to build it.`);
  }
  return file;
}
function native() {
  if (loaded)
    return loaded;
  if (process.platform !== "linux") {
    throw new FreezedryError(ErrorCode.ADDON_LOAD, `freezedry runs on Linux only (this is ${process.platform})`);
  }
  const require2 = createRequire(import.meta.url);
  try {
    const explicit = process.env.FREEZEDRY_ADDON;
    loaded = explicit ? require2(explicit) : require2("node-gyp-build")(packageRoot);
  } catch (cause) {
    throw new FreezedryError(ErrorCode.ADDON_LOAD, `Cannot load the freezedry addon from ${process.env.FREEZEDRY_ADDON ?? packageRoot}: ${cause.message}. Run 'npm install' (or 'npm run build:native') to build it.`, { cause });
  }
  return loaded;
}

// lib/native/native-errors.js
function writeError(cause, file) {
  if (cause.code === "ENOSPC") {
    return new FreezedryError(ErrorCode.NO_SPACE, `No space left on the device holding ${file}`, { cause, path: file });
  }
  return new FreezedryError(ErrorCode.PAGE_SINK_FAILED, `Writing ${file} failed: ${cause.message}`, { cause, path: file });
}
function archiveReadError(error, file, entries, target) {
  if (error instanceof FreezedryError)
    return error;
  const e = error;
  const detail = e.detail ?? e.message ?? String(error);
  switch (e.code) {
    case "ENOEXEC":
      return new FreezedryError(ErrorCode.ARCHIVE_FORMAT, `${file}: ${detail}`, { cause: error, path: file });
    case "ENODATA":
      return new FreezedryError(ErrorCode.ARCHIVE_TRUNCATED, `${file}: ${detail}`, { cause: error, path: file });
    case "EBADMSG": {
      const at = Number(detail.match(/stream offset (\d+)/)?.[1] ?? -1);
      const entry = [...entries].reverse().find((candidate) => candidate.dataOffset - TAR_BLOCK <= at);
      const which = entry ? `entry ${entry.name} is corrupt` : "corrupt data";
      return new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${file}: ${which}: ${detail}`, { cause: error, path: file, entry: entry?.name });
    }
    case "ENOSPC":
      return writeError(error, target ?? file);
    default:
      return error;
  }
}
var TAR_BLOCK = 512;
var MISSING_FEATURE = ["ENOSYS", "EINVAL", "ENOTTY", "EOPNOTSUPP", "ENOPROTOOPT"];
function trackerAttachError(pid, cause) {
  const code = cause.code ?? "";
  const said = `cannot track writes of pid ${pid}: ${cause.message}`;
  if (code === "ESRCH")
    return new FreezedryError(ErrorCode.NO_SUCH_PROCESS, said, { cause, pid });
  if (MISSING_FEATURE.includes(code)) {
    return new FreezedryError(ErrorCode.KERNEL_FEATURE_MISSING, `${said} (needs userfaultfd write-protect with UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN, Linux 6.7+)`, { cause, pid });
  }
  return new FreezedryError(ErrorCode.NOT_PERMITTED, said, { cause, pid });
}

export {
  packageRoot,
  nativeTool,
  native,
  writeError,
  archiveReadError,
  trackerAttachError
};
