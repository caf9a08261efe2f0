import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  packageRoot
} from "./chunk-GUIDA3SS.js";
import {
  ErrorCode,
  FreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/criu/locate.js
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";
function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
function locateCriu(explicit) {
  const named = explicit ?? process.env.FREEZEDRY_CRIU;
  if (named) {
    if (isExecutable(named))
      return named;
    throw new FreezedryError(ErrorCode.CRIU_NOT_FOUND, `CRIU not found at ${named} (named by ${explicit ? "the criu option" : "FREEZEDRY_CRIU"})`);
  }
  const tried = [];
  const recorded = path.join(packageRoot, ".deps", "criu-path");
  try {
    const file = readFileSync(recorded, "utf8").trim();
    if (file && isExecutable(file))
      return file;
    tried.push(file);
  } catch {
    tried.push(recorded);
  }
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir)
      continue;
    const candidate = path.join(dir, "criu");
    if (isExecutable(candidate))
      return candidate;
  }
  throw new FreezedryError(ErrorCode.CRIU_NOT_FOUND, `CRIU not found (looked at ${tried.join(", ")} and on PATH). Run 'npm run provision' (scripts/provision.sh) to build a working CRIU, or set FREEZEDRY_CRIU to a CRIU >= 4.1.`);
}
var nftablesLinked = /* @__PURE__ */ new Map();
function canLockWithNftables(criuPath) {
  let known = nftablesLinked.get(criuPath);
  if (known === void 0) {
    try {
      known = readFileSync(criuPath).includes("libnftables.so");
    } catch {
      known = false;
    }
    nftablesLinked.set(criuPath, known);
  }
  return known;
}

export {
  locateCriu,
  canLockWithNftables
};
