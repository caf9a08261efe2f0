import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  migrationCriuOptions
} from "./chunk-OFDVBURY.js";

// lib/snapshot/facts.js
import { readFile } from "node:fs/promises";
import path from "node:path";
var SNAPSHOT_FILE = "snapshot.json";
var SNAPSHOT_FORMAT = "freezedry-snapshot/1";
function snapshotFacts(pid, contextPipe, reportPipe, criu) {
  return { format: SNAPSHOT_FORMAT, pid, contextPipe, reportPipe, criu: migrationCriuOptions(criu) };
}
function isSnapshotFacts(value) {
  const facts = value;
  return typeof facts === "object" && facts !== null && facts.format === SNAPSHOT_FORMAT && [facts.pid, facts.contextPipe, facts.reportPipe].every((n) => Number.isSafeInteger(n) && n > 0);
}
async function readSnapshotFacts(imagesDir) {
  let text;
  try {
    text = await readFile(path.join(imagesDir, SNAPSHOT_FILE), "utf8");
  } catch {
    return void 0;
  }
  try {
    const facts = JSON.parse(text);
    return isSnapshotFacts(facts) ? { ...facts, criu: migrationCriuOptions(facts.criu) } : void 0;
  } catch {
    return void 0;
  }
}

export {
  SNAPSHOT_FILE,
  snapshotFacts,
  readSnapshotFacts
};
