import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  assertRoot,
  childrenOf,
  commandArgs,
  readStat
} from "./chunk-MRR2X73E.js";
import {
  ErrorCode,
  FreezedryError,
  ValidationError
} from "./chunk-KX5PMG5M.js";

// lib/run.js
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
async function run(command, options = {}) {
  if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === "string" && c.length > 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "run needs a command: a non-empty array of non-empty strings");
  }
  assertRoot("run");
  const logFile = path.resolve(options.logFile ?? defaultLogFile(command[0]));
  mkdirSync(path.dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, "a");
  const inner = options.net ? ["sh", "-c", 'ip link set lo up && exec setsid "$0" "$@"', ...command] : ["setsid", ...command];
  const launcher = spawn("unshare", ["--pid", "--fork", ...options.net ? ["--net"] : [], ...inner], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", logFd, logFd]
  });
  closeSync(logFd);
  let launchError;
  launcher.once("error", (err) => {
    launchError = err;
  });
  launcher.unref();
  const stages = [["setsid", ...command], [...inner]].map((argv) => argv.join("\0"));
  const deadline = Date.now() + (options.startTimeoutMs ?? 5e3);
  const wanted = command.join(" ");
  while (Date.now() < deadline && !launchError) {
    const launcherPid = launcher.pid;
    const child = launcherPid ? childrenOf(launcherPid)[0] : void 0;
    if (child !== void 0) {
      const argv = commandArgs(child);
      if (argv.length > 0 && argv[0] !== "unshare" && !stages.includes(argv.join("\0"))) {
        return { pid: child, logFile, namespaces: { pid: true, net: options.net === true } };
      }
    } else if (launcherPid && !readStat(launcherPid)) {
      break;
    }
    await sleep(2);
  }
  const said = readTail(logFile);
  throw new FreezedryError(ErrorCode.WORKLOAD_START_FAILED, `could not start ${wanted}${launchError ? `: ${launchError.message}` : ""}${said ? `: ${said}` : ""} [log: ${logFile}]`, { logFile, cause: launchError });
}
function defaultLogFile(program) {
  const stamp = (/* @__PURE__ */ new Date()).toISOString().replace(/[:.]/g, "-");
  return path.join(os.tmpdir(), "freezedry", `run-${path.basename(program)}-${stamp}-${process.pid}.log`);
}
function readTail(file) {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-3).join("; ");
  } catch {
    return "";
  }
}

export {
  run
};
