import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  afterThisProcessDies,
  failureError,
  runImageRequest
} from "./chunk-6SZ63I6Z.js";
import {
  readSnapshotFacts
} from "./chunk-BHCII4OU.js";
import {
  commonRpcOptions,
  validateCriuOptions,
  validateDir
} from "./chunk-OFDVBURY.js";
import {
  findStored
} from "./chunk-LJEMCCOU.js";
import {
  assertRoot,
  childrenOf,
  commandLine,
  namespacePid,
  processTree,
  readStat,
  signalEach,
  waitUntilGone
} from "./chunk-MRR2X73E.js";
import {
  RequestType,
  lazyPagesAvailable
} from "./chunk-SREGTA7H.js";
import {
  locateCriu
} from "./chunk-CJKMJKBO.js";
import {
  PAGE_SIZE,
  PageFlags,
  VmaStatus,
  directorySource,
  parsePagemap,
  parsePstree,
  parseVmas,
  readRestoreStats
} from "./chunk-F3SPZOCF.js";
import {
  assertImagesPresent,
  removePartialImages
} from "./chunk-Y4SUBUAX.js";
import {
  Archive,
  cpuFlags
} from "./chunk-PTYGFORS.js";
import {
  native,
  nativeTool
} from "./chunk-GUIDA3SS.js";
import {
  ErrorCode,
  FreezedryError,
  ValidationError,
  abortError
} from "./chunk-KX5PMG5M.js";

// lib/archive/compatibility.js
var ISA_FLAGS = /* @__PURE__ */ new Set([
  "sse",
  "sse2",
  "pni",
  "ssse3",
  "sse4_1",
  "sse4_2",
  "popcnt",
  "aes",
  "pclmulqdq",
  "avx",
  "avx2",
  "f16c",
  "fma",
  "bmi1",
  "bmi2",
  "adx",
  "movbe",
  "rdrand",
  "rdseed",
  "sha_ni",
  "xsave",
  "xsaveopt",
  "xsavec",
  "xsaves",
  "avx512f",
  "avx512dq",
  "avx512cd",
  "avx512bw",
  "avx512vl",
  "avx512_vnni",
  "avx512_bf16",
  "avx_vnni",
  "vaes",
  "vpclmulqdq",
  "gfni",
  "erms",
  "fsrm",
  "clflushopt",
  "clwb",
  "lzcnt",
  "abm",
  "cx16",
  "amx_tile",
  "amx_int8",
  "amx_bf16"
]);
function compatibilityGaps(source, criu) {
  const here = new Set(cpuFlags());
  const gap = { missingCpuFlags: source.cpuFlags.filter((flag) => ISA_FLAGS.has(flag) && !here.has(flag)) };
  if (source.arch !== process.arch)
    gap.arch = `made on ${source.arch}, this host is ${process.arch}`;
  const [major = 0, minor = 0] = source.criuVersion.split(".").map(Number);
  if (major > criu.major || major === criu.major && minor > criu.minor) {
    gap.criu = `made by CRIU ${source.criuVersion}, this host has ${criu.text}, which may not read its images`;
  }
  return gap;
}
function assertCompatible(source, criu, file) {
  const gap = compatibilityGaps(source, criu);
  const reasons = [
    gap.arch,
    gap.missingCpuFlags.length > 0 ? `this CPU lacks ${gap.missingCpuFlags.join(", ")} (the checkpoint came from ${source.hostname})` : void 0,
    gap.criu
  ].filter(Boolean);
  if (reasons.length > 0) {
    throw new FreezedryError(ErrorCode.INCOMPATIBLE_HOST, `${file} cannot be restored on this host: ${reasons.join("; ")} (force skips this check)`, {
      ...gap
    });
  }
}

// lib/operations/restore.js
import { closeSync as closeSync2 } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import path5 from "node:path";

// lib/images/process-tree.js
import { readFile } from "node:fs/promises";
import path from "node:path";
async function readProcessTree(imagesDir) {
  const file = path.join(imagesDir, "pstree.img");
  return parsePstree(await readFile(file), file);
}
function hasOwnPidNamespace(tree) {
  return tree[0]?.pid === 1;
}

// lib/pages/lazy-plan.js
async function planLazyRestore(source, options = {}) {
  const pstree = await source.read("pstree.img");
  if (!pstree)
    throw new Error("pstree.img missing");
  const pids = parsePstree(pstree).map((task) => task.pid);
  const plan = { table: {}, images: [], eager: /* @__PURE__ */ new Map(), lazyPages: 0, eagerPages: 0, pids: [] };
  for (const pid of pids) {
    const bytes = await source.read(`pagemap-${pid}.img`);
    if (!bytes)
      continue;
    const pagemap = parsePagemap(bytes, `pagemap-${pid}.img`);
    const imageName = `pages-${pagemap.pagesId}.img`;
    let imageIndex = plan.images.indexOf(imageName);
    if (imageIndex < 0)
      imageIndex = plan.images.push(imageName) - 1;
    const eager = plan.eager.get(imageName) ?? [];
    plan.eager.set(imageName, eager);
    const vmas = parseVmas(await source.read(`mm-${pid}.img`));
    const rows = [];
    const remoteImage = plan.pids.push(pid) - 1;
    let offset = 0;
    for (const { vaddr, nrPages, flags } of pagemap.entries) {
      const bytes2 = nrPages * PAGE_SIZE;
      if (options.remote && flags & PageFlags.LAZY && (flags & PageFlags.PRESENT) === 0) {
        for (const piece of splitAtVmas(vaddr, bytes2, vmas))
          rows.push(piece.start, piece.length, remoteImage, piece.start, piece.priority ? 1 : 0);
        plan.lazyPages += bytes2 / PAGE_SIZE;
        continue;
      }
      if ((flags & PageFlags.PRESENT) === 0)
        continue;
      if (flags & PageFlags.LAZY) {
        for (const piece of splitAtVmas(vaddr, bytes2, vmas)) {
          rows.push(piece.start, piece.length, imageIndex, offset + (piece.start - vaddr), piece.priority ? 1 : 0);
        }
        plan.lazyPages += bytes2 / PAGE_SIZE;
      } else {
        const last = eager.at(-1);
        if (last && last[0] + last[1] === offset)
          last[1] += bytes2;
        else
          eager.push([offset, bytes2]);
        plan.eagerPages += bytes2 / PAGE_SIZE;
      }
      offset += bytes2;
    }
    plan.table[pid] = Float64Array.from(rows);
  }
  return plan;
}
function splitAtVmas(start, length, vmas) {
  const end = start + length;
  const pieces = [];
  let low = 0;
  let high = vmas.length;
  while (low < high) {
    const mid = low + high >>> 1;
    if (vmas[mid].end <= start)
      low = mid + 1;
    else
      high = mid;
  }
  for (let i = low; i < vmas.length && vmas[i].start < end; i++) {
    const vma = vmas[i];
    const from = Math.max(start, vma.start);
    const to = Math.min(end, vma.end);
    if (from < to)
      pieces.push({ start: from, length: to - from, priority: (vma.status & (VmaStatus.STACK | VmaStatus.HEAP)) !== 0 });
  }
  return pieces.length > 0 ? pieces : [{ start, length, priority: false }];
}

// lib/pages/lazy-server.js
import path2 from "node:path";
var FAULT_AROUND = 64 * 1024;
var FILL_CHUNK = 4 * 1024 * 1024;
var LazyPageServer = class _LazyPageServer {
  restored;
  complete;
  server;
  rootPid;
  disarmWatchdog;
  closed = false;
  constructor(socketPath, plan, source) {
    let restored;
    let complete;
    let failed;
    this.restored = new Promise((resolve) => restored = resolve);
    this.complete = new Promise((resolve, reject) => {
      complete = resolve;
      failed = reject;
    });
    this.complete.catch(() => {
    });
    this.server = new (native()).UffdServer(socketPath, plan.table, source, { faultAround: FAULT_AROUND, fillChunk: FILL_CHUNK }, (kind, error) => {
      if (kind === "restored") {
        restored();
      } else if (kind === "complete") {
        complete(this.server.counters());
        this.close();
      } else {
        this.killTree();
        failed(new FreezedryError(ErrorCode.LAZY_FILL_FAILED, `Lazy restore could not place the remaining pages: ${error?.detail ?? error?.message}`, {
          cause: error
        }));
        this.close();
      }
    });
  }
  /** Starts listening on lazy-pages.socket in CRIU's work directory, before the restore begins. */
  static start(workDir, plan, source) {
    const socketPath = path2.join(workDir, "lazy-pages.socket");
    if (Buffer.byteLength(socketPath) > 107) {
      throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `work directory path too long for a unix socket: ${socketPath}`);
    }
    return new _LazyPageServer(socketPath, plan, source);
  }
  /**
   * The restored root, so a failed fill can end the tree. If this process dies before the fill
   * completes (SIGKILL runs no handler), the uffds close and the missing pages would read as
   * zeros: a watchdog outside this process then ends the tree's session instead.
   */
  attach(rootPid) {
    this.rootPid = rootPid;
    if (this.closed)
      return;
    this.disarmWatchdog = afterThisProcessDies('pkill -KILL -s "$1"; kill -KILL "$1"', [String(rootPid)]);
  }
  stats() {
    return this.server.counters();
  }
  close() {
    if (this.closed)
      return;
    this.closed = true;
    this.server.close();
    this.disarmWatchdog?.();
  }
  killTree() {
    if (this.rootPid !== void 0)
      signalEach(processTree(this.rootPid).reverse(), "SIGKILL");
  }
};

// lib/pages/lazy-source.js
import { constants, openSync } from "node:fs";
import path3 from "node:path";
async function directoryLazySource(imagesDir, remote, opened) {
  let plan = await planLazyRestore(directorySource(imagesDir), { remote: remote !== void 0 });
  if (!remote) {
    for (const name of plan.images)
      opened.push(openSync(path3.join(imagesDir, name), constants.O_RDONLY));
    return { plan, source: { files: opened } };
  }
  const pulled = { ...remote.pageServer, pids: plan.pids };
  if (!remote.preCopied)
    return { plan, source: { remote: pulled } };
  plan = remote.preCopied.route(plan);
  opened.push(openSync(remote.preCopied.file, constants.O_RDONLY));
  return { plan, source: { files: opened, remote: pulled } };
}
async function sharesNoPages(images) {
  const pstree = await images.read("pstree.img");
  return pstree !== void 0 && parsePstree(pstree).length === 1;
}

// lib/process/restored-root.js
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
function watchRestoredRoot(pid, keepAlive) {
  let watch;
  const exited = new Promise((resolve, reject) => {
    watch = new (native()).ExitWatch(pid, (err, status) => {
      watch?.close();
      if (err)
        reject(err);
      else
        resolve(status);
    });
    if (!keepAlive)
      watch.unref();
  });
  exited.catch(() => {
  });
  return { pid, exited, release: () => watch?.close() };
}
function describeExit(status) {
  if (!status || !status.signal && status.code < 0)
    return "it is gone (its exit status could not be read)";
  if (status.signal)
    return `it was killed by signal ${status.signal}${signalName(status.signal)}`;
  return `it exited with status ${status.code}`;
}
async function assertRootRunning(root, when) {
  const stat = readStat(root.pid);
  if (stat !== void 0 && stat.state !== "Z" && stat.state !== "X" && !stat.exiting)
    return;
  const status = stat?.state === "Z" && stat.waitStatus !== void 0 ? fromWaitStatus(stat.waitStatus) : await Promise.race([root.exited.catch(() => void 0), sleep(3e3).then(() => void 0)]);
  throw new FreezedryError(ErrorCode.RESTORED_TREE_EXITED, `The restored tree (pid ${root.pid}) did not survive ${when}: ${describeExit(status)}`, {
    pid: root.pid,
    exitCode: status && !status.signal && status.code >= 0 ? status.code : void 0,
    signal: status?.signal || void 0
  });
}
function fromWaitStatus(status) {
  const signal = status & 127;
  return signal ? { reaped: false, code: -1, signal } : { reaped: false, code: status >> 8 & 255, signal: 0 };
}
function signalName(signal) {
  const name = Object.entries(os.constants.signals).find(([, number]) => number === signal)?.[0];
  return name ? ` (${name})` : "";
}

// lib/images/scratch-dir.js
import { statfsSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os2 from "node:os";
import path4 from "node:path";
var MEMORY_DIR = "/dev/shm";
var TMPFS_MAGIC = 16914836;
function availableMemoryBytes() {
  const kib = Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  return kib * 1024;
}
function tmpfsFreeBytes(dir) {
  try {
    const fs = statfsSync(dir);
    return fs.type === TMPFS_MAGIC ? fs.bavail * fs.bsize : 0;
  } catch {
    return 0;
  }
}
async function scratchDirFor(bytes, prefix) {
  const inMemory = bytes <= availableMemoryBytes() / 4 && bytes <= tmpfsFreeBytes(MEMORY_DIR) / 2;
  return mkdtemp(path4.join(inMemory ? MEMORY_DIR : os2.tmpdir(), prefix));
}

// lib/snapshot/instance.js
import { closeSync, read, writeSync } from "node:fs";
var FIRST_INHERITED_FD = 4;
function validateInstanceOptions(options) {
  const { env, netns, readyTimeoutMs } = options;
  if (env !== void 0 && (typeof env !== "object" || env === null || !Object.values(env).every((v) => typeof v === "string"))) {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, "env must be an object of strings");
  }
  if (netns !== void 0 && typeof netns !== "boolean")
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, "netns must be a boolean");
  if (readyTimeoutMs !== void 0 && !(Number.isFinite(readyTimeoutMs) && readyTimeoutMs > 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid readyTimeoutMs: must be a positive number of milliseconds, got ${readyTimeoutMs}`);
  }
}
var SnapshotInstance = class {
  facts;
  options;
  /** For CRIU: the pipes that replace the snapshot's own (fds 4 and 5 of criu swrk). */
  inheritFds;
  inherit;
  launcher;
  contextWrite;
  reportRead;
  found;
  constructor(facts, options) {
    this.facts = facts;
    this.options = options;
    this.launcher = [nativeTool("freezedry-init"), ...options.netns ? ["--net"] : [], "--"];
    const [contextRead, contextWrite] = native().pipe();
    const [reportRead, reportWrite] = native().pipe();
    this.contextWrite = contextWrite;
    this.reportRead = reportRead;
    this.inheritFds = [contextRead, reportWrite];
    this.inherit = [
      { key: `pipe:[${facts.contextPipe}]`, fd: FIRST_INHERITED_FD },
      { key: `pipe:[${facts.reportPipe}]`, fd: FIRST_INHERITED_FD + 1 }
    ];
  }
  /**
   * Wraps the caller's notification handler: once CRIU has restored the tree (post-restore,
   * which names the root by its pid inside the namespace), finds the copy's host pid below
   * the launcher while CRIU still runs.
   */
  notificationHandler(inner) {
    return async (notification) => {
      if (notification.name === "post-restore" && notification.pid !== void 0)
        this.locate(notification.criuPid, notification.pid);
      await inner?.(notification);
    };
  }
  locate(launcherPid, pidInside) {
    const initPid = childrenOf(launcherPid)[0];
    if (initPid === void 0)
      return;
    const hostPid = processTree(initPid).find((pid) => pid !== initPid && namespacePid(pid) === pidInside);
    if (hostPid !== void 0)
      this.found = { hostPid, initPid };
  }
  /** The copy's host pid (after CRIU's answer). */
  hostPid() {
    if (!this.found)
      throw new FreezedryError(ErrorCode.INTERNAL, "the restored copy was not found in its new pid namespace");
    return this.found.hostPid;
  }
  info() {
    return { namespacePid: this.facts.pid, initPid: this.found?.initPid ?? -1, netns: this.options.netns === true };
  }
  /** Tells the copy it is one, then waits for its after-restore hooks to report. */
  async start() {
    const answer = { restored: true, env: this.options.env ?? {}, hostPid: this.hostPid() };
    try {
      writeSync(this.contextWrite, JSON.stringify(answer));
    } finally {
      this.closeContext();
    }
    const timeoutMs = this.options.readyTimeoutMs ?? 6e4;
    const report = await readReport(this.reportRead, timeoutMs).finally(() => closeSync(this.reportRead));
    if (report === "timeout") {
      this.end();
      throw new FreezedryError(ErrorCode.SNAPSHOT_HOOK_FAILED, `the restored copy (pid ${this.hostPid()}) did not finish its afterRestore hooks within ${timeoutMs} ms; it was ended`, {
        pid: this.hostPid()
      });
    }
    if (report === void 0)
      return;
    if (!report.ready) {
      this.end();
      throw new FreezedryError(ErrorCode.SNAPSHOT_HOOK_FAILED, `the restored copy (pid ${this.hostPid()}) ended: ${report.error.message}`, {
        pid: this.hostPid(),
        copyErrorCode: report.error.code
      });
    }
  }
  /** Ends the copy's whole namespace. */
  end() {
    try {
      if (this.found)
        process.kill(this.found.initPid, "SIGKILL");
    } catch {
    }
  }
  /** After a failed restore: nothing will be told to a copy. */
  abandon() {
    this.closeContext();
    try {
      closeSync(this.reportRead);
    } catch {
    }
  }
  contextOpen = true;
  closeContext() {
    if (!this.contextOpen)
      return;
    this.contextOpen = false;
    closeSync(this.contextWrite);
  }
};
function readReport(fd, timeoutMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), timeoutMs);
    const buffer = Buffer.alloc(16 * 1024);
    let text = "";
    const next = () => read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
      if (!error && bytes > 0 && text.length < 1024 * 1024) {
        text += buffer.toString("utf8", 0, bytes);
        if (!text.includes("\n"))
          return next();
      }
      clearTimeout(timer);
      try {
        resolve(text.trim() ? JSON.parse(text.split("\n")[0]) : void 0);
      } catch {
        resolve(void 0);
      }
    });
    next();
  });
}

// lib/operations/restore.js
async function restore(options) {
  const sources = [options?.imagesDir, options?.archive, options?.name].filter((s) => s !== void 0);
  if (sources.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "restore needs exactly one of imagesDir, archive and name");
  }
  if (options.name !== void 0)
    options = { ...options, archive: await findStored(options.name, options.storeRoot), name: void 0 };
  if (options.archive === void 0)
    return restoreFromDirectory(options);
  return restoreFromArchive(options);
}
async function restoreFromArchive(options) {
  validateDir("archive", options.archive);
  validateCriuOptions(options);
  assertRoot("restore");
  const started = performance.now();
  const criuPath = locateCriu(options.criu);
  const archive = await Archive.open(options.archive);
  if (archive.manifest.container) {
    archive.close();
    throw new FreezedryError(ErrorCode.UNSUPPORTED_CHECKPOINT, `${archive.file} is a checkpoint of the container '${archive.manifest.container.id}': restore it with 'freezedry container restore -i'`, { path: archive.file });
  }
  const scratch = await scratchDirFor(archive.entries.reduce((sum, entry) => sum + entry.size, 0), "freezedry-restore-");
  const logFile = path5.join(options.workDir ? path5.resolve(options.workDir) : scratch, "restore.log");
  const progress = options.onProgress && ((bytes, totalBytes) => options.onProgress?.({ bytes, totalBytes }));
  const checkVersion = options.force ? void 0 : (version) => assertCompatible(archive.manifest.source, version, archive.file);
  if (options.lazy === void 0 && archive.manifest.snapshot)
    options = { ...options, lazy: true };
  let keepArchiveOpen = false;
  try {
    let result;
    if (options.lazy || await sharesNoPages(archive.imageSource()) && await lazyPagesAvailable(criuPath)) {
      const plan = await planLazyRestore(archive.imageSource());
      await archive.extract(scratch, progress, plan.eager);
      result = await restoreFromDirectory({ ...options, archive: void 0, imagesDir: scratch }, { checkVersion, plan, lazySource: archive.pageSource(plan.images) });
      if (!options.lazy) {
        await result.lazy?.fill;
        result = { ...result, lazy: void 0 };
      } else if (result.lazy) {
        const fill = result.lazy.fill.finally(() => archive.close());
        fill.catch(() => {
        });
        result = { ...result, lazy: { ...result.lazy, fill } };
        keepArchiveOpen = true;
      }
    } else {
      await archive.extract(scratch, progress);
      result = await restoreFromDirectory({ ...options, archive: void 0, imagesDir: scratch }, { checkVersion });
    }
    await rm(scratch, { recursive: true, force: true });
    return { ...result, imagesDir: void 0, archive: archive.file, durationMs: performance.now() - started };
  } catch (error) {
    await removePartialImages(scratch, logFile);
    if ((await readdir(scratch)).length === 0)
      await rm(scratch, { recursive: true, force: true });
    throw error;
  } finally {
    if (!keepArchiveOpen)
      archive.close();
  }
}
async function restoreFromDirectory(options, extras = {}) {
  const started = performance.now();
  validateDir("imagesDir", options?.imagesDir);
  validateCriuOptions(options);
  if (options.detach !== void 0 && typeof options.detach !== "boolean") {
    throw new ValidationError(ErrorCode.INVALID_ARG_TYPE, "detach must be a boolean");
  }
  if (options.pageServer && !options.lazy) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "pageServer needs lazy: true (pages are pulled on demand)");
  }
  if (options.signal?.aborted)
    throw abortError(options.signal);
  assertRoot("restore");
  const criuPath = locateCriu(options.criu);
  const imagesDir = path5.resolve(options.imagesDir);
  await assertImagesPresent(imagesDir);
  const workDir = path5.resolve(options.workDir ?? imagesDir);
  const logFile = path5.join(workDir, "restore.log");
  const detach = options.detach ?? true;
  const snapshot = await readSnapshotFacts(imagesDir);
  validateInstanceOptions(options);
  if (snapshot) {
    for (const [name, value] of Object.entries(snapshot.criu)) {
      if (options[name] === void 0)
        options = { ...options, [name]: value };
    }
  }
  if (!snapshot && (options.env !== void 0 || options.netns !== void 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `env and netns are for a snapshot's copies; ${imagesDir} is a plain checkpoint`);
  }
  if (snapshot && workDir !== imagesDir) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "a snapshot's copy keeps CRIU's work files in its images directory: workDir cannot be set");
  }
  if (snapshot && !detach) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "a snapshot's copy runs under its own pid namespace's init: it cannot be restored attached");
  }
  if (!snapshot)
    await waitForDumpedPids(imagesDir, options.reapTimeoutMs ?? 1e4);
  const lazy = options.lazy === true || extras.lazySource !== void 0 || snapshot !== void 0 && options.lazy === void 0;
  let server;
  const pageFiles = [];
  const closeFiles = () => pageFiles.splice(0).forEach((fd) => closeSync2(fd));
  if (lazy) {
    const remote = options.pageServer ? { pageServer: options.pageServer, preCopied: options.preCopied } : void 0;
    const { plan, source } = extras.plan && extras.lazySource ? { plan: extras.plan, source: extras.lazySource } : await directoryLazySource(imagesDir, remote, pageFiles);
    try {
      server = LazyPageServer.start(workDir, plan, source);
    } catch (error) {
      closeFiles();
      throw error;
    }
  }
  let root;
  let version;
  let instance;
  try {
    instance = snapshot ? new SnapshotInstance(snapshot, options) : void 0;
    const answer = await runImageRequest(criuPath, { imagesDir, workDir }, (fds) => ({
      type: RequestType.RESTORE,
      opts: {
        ...commonRpcOptions(options),
        ...fds,
        restoreAsSibling: !detach,
        lazyPages: lazy,
        logFile: "restore.log",
        // CRIU in the copy's pid namespace cannot see our /proc/PID/fd: it opens the images by path.
        ...instance ? { imagesDirFd: -1, imagesDir, workDirFd: void 0, inheritFds: instance.inherit, notifyScripts: true } : {}
      }
    }), {
      onNotification: instance ? instance.notificationHandler(options.onNotification) : options.onNotification,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      checkVersion: extras.checkVersion,
      inheritFds: instance?.inheritFds,
      launcher: instance?.launcher
    });
    version = answer.version;
    if (!answer.outcome.response.success || !answer.outcome.response.restore) {
      throw await failureError("restore", answer.outcome, logFile, `criu restore from ${imagesDir}`);
    }
    root = watchRestoredRoot(instance ? instance.hostPid() : answer.outcome.response.restore.pid, !detach);
  } catch (error) {
    instance?.abandon();
    server?.close();
    closeFiles();
    throw error;
  }
  let lazyRestore;
  if (server) {
    const pages = server;
    pages.attach(root.pid);
    const fill = pages.complete.finally(closeFiles).then(async (stats) => {
      await assertRootRunning(root, "the lazy fill");
      return stats;
    }).finally(() => detach && root.release());
    fill.catch(() => {
    });
    lazyRestore = { fill, stats: () => pages.stats() };
  }
  try {
    await instance?.start();
    await assertRootRunning(root, "its restore");
  } catch (error) {
    if (lazyRestore) {
      server?.close();
      root.release();
    }
    throw error;
  } finally {
    if (detach && !lazyRestore)
      root.release();
  }
  return {
    pid: root.pid,
    imagesDir,
    logFile,
    durationMs: performance.now() - started,
    stats: await readRestoreStats(workDir),
    criu: { path: criuPath, version: version.text },
    exited: detach ? void 0 : root.exited,
    lazy: lazyRestore,
    instance: instance?.info()
  };
}
async function waitForDumpedPids(imagesDir, timeoutMs) {
  const tree = await readProcessTree(imagesDir).catch((cause) => {
    throw new FreezedryError(ErrorCode.IMAGES_MISSING, `${imagesDir}/pstree.img is unreadable: ${cause.message}`, { cause });
  });
  if (hasOwnPidNamespace(tree))
    return;
  const pids = tree.flatMap((task) => [task.pid, ...task.threads.filter((t) => t !== task.pid)]);
  const live = pids.filter((pid) => {
    const stat = readStat(pid);
    return stat !== void 0 && stat.state !== "Z" && stat.state !== "X";
  });
  if (live.length > 0) {
    const who = live.map((pid) => `${pid} (${commandLine(pid) || readStat(pid)?.comm})`).join(", ");
    throw new FreezedryError(ErrorCode.PID_IN_USE, `Cannot restore in place: pid ${who} ${live.length > 1 ? "are" : "is"} in use by a running process. Stop it first, or checkpoint a tree started with 'freezedry run' (its own pid namespace) to restore beside it.`, { pids: live });
  }
  const left = await waitUntilGone(pids, timeoutMs);
  if (left.length > 0) {
    throw new FreezedryError(ErrorCode.PID_IN_USE, `Cannot restore in place: pid ${left.join(", ")} still exists as a zombie after ${timeoutMs} ms (its parent has not reaped it)`, { pids: left });
  }
}

export {
  compatibilityGaps,
  assertCompatible,
  planLazyRestore,
  LazyPageServer,
  directoryLazySource,
  sharesNoPages,
  watchRestoredRoot,
  assertRootRunning,
  restore
};
