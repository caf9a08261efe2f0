import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  ErrorCode,
  FreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/process/privileges.js
function assertRoot(operation) {
  if (process.getuid?.() !== 0) {
    throw new FreezedryError(ErrorCode.NOT_PERMITTED, `${operation} needs root: CRIU must ptrace and restore any process (run as root or with sudo)`);
  }
}

// lib/process/proc.js
import { readFileSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
var PF_EXITING = 4;
function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return void 0;
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  const [state, ppid, pgid, sid] = fields;
  const waitStatus = fields.length >= 50 ? Number(fields[49]) : void 0;
  const exiting = (Number(fields[6]) & PF_EXITING) !== 0;
  return { pid, comm, state: state ?? "?", ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid), waitStatus, exiting };
}
function commandArgs(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}
function commandLine(pid) {
  return commandArgs(pid).join(" ");
}
function isAlive(pid) {
  const stat = readStat(pid);
  return stat !== void 0 && stat.state !== "Z" && stat.state !== "X";
}
function isStopped(stat) {
  return stat !== void 0 && (stat.state === "T" || stat.state === "t");
}
function childrenOf(pid) {
  const children = [];
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text)
        children.push(...text.split(" ").map(Number));
    } catch {
    }
  }
  return children;
}
function processTree(pid) {
  const tree = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift();
    tree.push(next);
    queue.push(...childrenOf(next));
  }
  return tree;
}
async function waitUntilGone(pids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter((pid) => readStat(pid) !== void 0);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(5);
    left = left.filter((pid) => readStat(pid) !== void 0);
  }
  return left;
}
function residentBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const kb = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s*(\d+)/m)?.[1];
      total += Number(kb ?? 0) * 1024;
    } catch {
    }
  }
  return total;
}
function signalEach(pids, signal) {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
    }
  }
}
function namespacePid(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^NSpid:\s*(.+)$/m)?.[1];
    return line ? Number(line.trim().split(/\s+/).at(-1)) : pid;
  } catch {
    return void 0;
  }
}

export {
  assertRoot,
  readStat,
  commandArgs,
  commandLine,
  isAlive,
  isStopped,
  childrenOf,
  processTree,
  waitUntilGone,
  residentBytes,
  signalEach,
  namespacePid
};
