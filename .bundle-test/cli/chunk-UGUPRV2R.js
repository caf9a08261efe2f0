import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  probeDirtyTracking
} from "./chunk-LO46G7W2.js";
import {
  MINIMUM_CRIU,
  RequestType,
  isSupported,
  queryFeatures,
  withSession
} from "./chunk-SREGTA7H.js";
import {
  ErrorCode,
  isFreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/check.js
import { existsSync, readFileSync, writeFileSync } from "node:fs";
var PIPE_MAX_SIZE_NEEDED = 4 * 1024 * 1024;
function readNumber(file) {
  try {
    return Number(readFileSync(file, "utf8").trim());
  } catch {
    return void 0;
  }
}
function onPath(command) {
  return (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").concat(["/usr/sbin", "/sbin"]).some((dir) => dir && existsSync(`${dir}/${command}`));
}
function hasCapability(bit) {
  const line = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)/m);
  return line ? (BigInt(`0x${line[1]}`) & 1n << BigInt(bit)) !== 0n : false;
}
async function check(options = {}) {
  const items = [];
  const report = { ok: false, items };
  const root = process.getuid?.() === 0;
  items.push({
    id: "root",
    title: "running as root",
    status: root ? "ok" : "fail",
    detail: root ? "uid 0" : `uid ${process.getuid?.()}`,
    fix: root ? void 0 : "run freezedry as root (CRIU must ptrace and restore any process)"
  });
  try {
    await withSession(options.criu, async (session, v) => {
      report.criu = { path: session.criuPath, version: v.text };
      const supported = isSupported(v);
      items.push({
        id: "criu-version",
        title: `CRIU ${MINIMUM_CRIU.major}.${MINIMUM_CRIU.minor} or newer`,
        status: supported ? "ok" : "fail",
        detail: `CRIU ${v.text} at ${session.criuPath}`,
        fix: supported ? void 0 : "run 'npm run provision' to build a current CRIU, or set FREEZEDRY_CRIU"
      });
      if (!supported)
        return;
      report.features = await queryFeatures(session);
      const { response } = await session.request({ type: RequestType.CHECK });
      const said = session.consoleOutput.trim().split("\n").filter(Boolean);
      items.push({
        id: "criu-check",
        title: "'criu check' passes",
        status: response.success ? "ok" : "fail",
        detail: response.success ? said.at(-1) ?? "Looks good." : said.slice(-3).join("; ") || "criu check failed",
        fix: response.success ? void 0 : "run `criu check` by hand for the full output; a kernel without the features above cannot checkpoint"
      });
    });
  } catch (error) {
    if (!isFreezedryError(error))
      throw error;
    const missing = error.code === ErrorCode.CRIU_NOT_FOUND || error.code === ErrorCode.CRIU_TOO_OLD;
    items.push(missing ? {
      id: "criu-version",
      title: "CRIU is installed",
      status: "fail",
      detail: error.message,
      fix: "run 'npm run provision' (scripts/provision.sh), or set FREEZEDRY_CRIU to a CRIU >= 4.1"
    } : {
      id: "criu-check",
      title: "'criu check' passes",
      status: "fail",
      detail: `${error.code}: ${error.message}`,
      fix: "run `criu check` by hand for the full output"
    });
  }
  const f = report.features;
  if (f) {
    items.push({
      id: "soft-dirty",
      title: "soft-dirty memory tracking",
      status: f.memTrack ? "ok" : "warn",
      detail: f.memTrack ? "available: CRIU pre-dump and incremental dumps work" : "missing (no CONFIG_MEM_SOFT_DIRTY): CRIU pre-dump and --track-mem cannot run",
      fix: f.memTrack ? void 0 : "nothing to do: freezedry's own dirty tracker (below) serves pre-copy migration where it works"
    });
    const tracker = await probeDirtyTracking();
    items.push({
      id: "dirty-tracker",
      title: "freezedry's dirty tracker (pre-copy migration without soft-dirty)",
      status: tracker.works ? "ok" : "warn",
      detail: tracker.works ? "works: userfaultfd write-protect (UFFD_FEATURE_WP_ASYNC) and PAGEMAP_SCAN" : `does not work here: ${tracker.reason ?? "unknown"}`,
      fix: tracker.works ? void 0 : f.memTrack ? "nothing to do: pre-copy uses CRIU's pre-dumps (soft-dirty) instead" : "pre-copy and hybrid migration need Linux 6.7+ (UFFD_FEATURE_WP_ASYNC, PAGEMAP_SCAN) or soft-dirty; stop-copy and post-copy work without either"
    });
    const unprivileged = readNumber("/proc/sys/vm/unprivileged_userfaultfd");
    items.push({
      id: "userfaultfd",
      title: "userfaultfd (lazy restore, post-copy migration)",
      status: f.lazyPages ? "ok" : "warn",
      detail: f.lazyPages ? `available${existsSync("/dev/userfaultfd") ? ", /dev/userfaultfd present" : ""}${unprivileged === 0 ? ", root only (vm.unprivileged_userfaultfd = 0)" : ""}` : "missing or without the non-cooperative events (fork, remap, unmap, remove)",
      fix: f.lazyPages ? void 0 : "use a kernel built with CONFIG_USERFAULTFD (5.x or newer); lazy restore is unavailable until then"
    });
  }
  let pipeMax = readNumber("/proc/sys/fs/pipe-max-size") ?? 0;
  if (pipeMax < PIPE_MAX_SIZE_NEEDED && options.fix && root) {
    writeFileSync("/proc/sys/fs/pipe-max-size", String(PIPE_MAX_SIZE_NEEDED));
    pipeMax = readNumber("/proc/sys/fs/pipe-max-size") ?? pipeMax;
  }
  const capSysResource = hasCapability(24);
  const pipeOk = pipeMax >= PIPE_MAX_SIZE_NEEDED || capSysResource;
  items.push({
    id: "pipe-max-size",
    title: "fs.pipe-max-size >= 4 MiB (or CAP_SYS_RESOURCE)",
    status: pipeOk ? "ok" : "warn",
    detail: `${pipeMax} bytes${capSysResource ? ", CAP_SYS_RESOURCE held" : ", no CAP_SYS_RESOURCE"}`,
    fix: pipeOk ? void 0 : `CRIU's page pipes stay small (slower dumps) and its remote lazy page server fails on the first request: run 'freezedry check --fix' or 'sysctl -w fs.pipe-max-size=${PIPE_MAX_SIZE_NEEDED}'`
  });
  const iptables = onPath("iptables-restore");
  items.push({
    id: "iptables",
    title: "iptables (network locking for --tcp-established and net namespaces)",
    status: iptables ? "ok" : "warn",
    detail: iptables ? "iptables-restore found" : "iptables-restore not on PATH",
    fix: iptables ? void 0 : 'apt-get install iptables (without it, dumps of trees with their own net namespace or TCP connections fail with execvp("iptables-restore"))'
  });
  report.ok = items.every((item) => item.status !== "fail");
  return report;
}

export {
  PIPE_MAX_SIZE_NEEDED,
  check
};
