import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  failureError,
  resumeTreeIfThisProcessDies,
  runImageRequest
} from "./chunk-6SZ63I6Z.js";
import {
  SNAPSHOT_FILE
} from "./chunk-BHCII4OU.js";
import {
  commonRpcOptions,
  validateCriuOptions,
  validateDir,
  validatePid
} from "./chunk-OFDVBURY.js";
import {
  newStoreEntry
} from "./chunk-LJEMCCOU.js";
import {
  assertRoot,
  commandLine,
  isStopped,
  processTree,
  readStat,
  residentBytes,
  signalEach
} from "./chunk-MRR2X73E.js";
import {
  openDumpTarget
} from "./chunk-ZVYR6UP2.js";
import {
  RequestType,
  features
} from "./chunk-SREGTA7H.js";
import {
  locateCriu
} from "./chunk-CJKMJKBO.js";
import {
  summarizeCheckpoint
} from "./chunk-4LSSWRP7.js";
import {
  directorySource,
  readDumpStats
} from "./chunk-F3SPZOCF.js";
import {
  closeFd,
  openDirFd,
  removePartialImages
} from "./chunk-Y4SUBUAX.js";
import {
  sourceHost
} from "./chunk-PTYGFORS.js";
import {
  native,
  writeError
} from "./chunk-GUIDA3SS.js";
import {
  ErrorCode,
  FreezedryError,
  ValidationError,
  abortError
} from "./chunk-KX5PMG5M.js";

// lib/operations/checkpoint.js
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// lib/pages/page-sink.js
import { closeSync } from "node:fs";
var CRIU_PAGE_SERVER_FD = 4;
var PageSinkSession = class _PageSinkSession {
  /** Our copy of CRIU's end: hand it to the CRIU session, which closes it after spawning (-1 for a connected socket). */
  criuEnd;
  done;
  failure;
  sink;
  constructor(target, connected) {
    const [ours, theirs] = connected === void 0 ? native().socketPair() : [connected, -1];
    this.criuEnd = theirs;
    let settle;
    this.done = new Promise((resolve, reject) => {
      settle = (error) => error ? reject(error) : resolve();
    });
    this.done.catch(() => {
    });
    try {
      this.sink = new (native()).PageSink(ours, target, (error) => {
        this.failure = error ?? void 0;
        settle(error);
      });
    } catch (error) {
      if (theirs >= 0)
        closeSync(theirs);
      throw error;
    } finally {
      if (connected === void 0)
        closeSync(ours);
    }
  }
  /** A session on a socket CRIU already connected (a TCP page server); the caller keeps its fd. */
  static onConnection(socketFd, target) {
    return new _PageSinkSession(target, socketFd);
  }
  static toDirectory(directoryFd) {
    return new _PageSinkSession({ directoryFd });
  }
  static toArchive(writer, prefix) {
    return new _PageSinkSession(prefix === void 0 ? { archive: writer } : { archive: writer, prefix });
  }
  /** Drops every page (the protocol's own cost, for benchmarks). */
  static discarding() {
    return new _PageSinkSession({ discard: true });
  }
  counters() {
    return this.sink.counters();
  }
  files() {
    return this.sink.files();
  }
  pagemaps() {
    return this.sink.pagemaps();
  }
  pagesEntries() {
    return this.sink.pagesEntries();
  }
  /** Stops a sink still waiting for CRIU (after CRIU failed or was never started). */
  cancel() {
    this.sink.cancel();
  }
  close() {
    this.sink.close();
  }
};

// lib/operations/checkpoint.js
async function checkpoint(pid, options) {
  const started = performance.now();
  validatePid(pid);
  const targets = [options?.imagesDir, options?.archive, options?.name].filter((t) => t !== void 0);
  if (targets.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "checkpoint needs exactly one of imagesDir, archive and name");
  }
  if (options.name !== void 0)
    options = { ...options, archive: await newStoreEntry(options.name, options.storeRoot), name: void 0 };
  if (options.imagesDir !== void 0)
    validateDir("imagesDir", options.imagesDir);
  if (options.archive !== void 0)
    validateDir("archive", options.archive);
  validateCriuOptions(options);
  if (options.preDump && (options.archive !== void 0 || options.pageSink || options.lazyPages || options.leaveStopped)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "a pre-dump writes an images directory and leaves the tree running: no archive, pageSink, lazyPages or leaveStopped");
  }
  if (options.signal?.aborted)
    throw abortError(options.signal);
  assertRoot("checkpoint");
  const criuPath = locateCriu(options.criu);
  if (options.preDump)
    await assertMemoryTracking(criuPath);
  const root = readStat(pid);
  if (!root || root.state === "Z" || root.state === "X") {
    throw new FreezedryError(ErrorCode.NO_SUCH_PROCESS, root ? `Process ${pid} (${root.comm}) has already exited (it is a zombie)` : `No process with pid ${pid}`, { pid });
  }
  const command = commandLine(pid) || root.comm;
  const pids = processTree(pid);
  if (pids.includes(process.pid)) {
    throw new FreezedryError(ErrorCode.SELF_CHECKPOINT, `pid ${pid} (${command}) is this process${pid === process.pid ? "" : " or one of its ancestors"}: CRIU would freeze itself. A process snapshots itself with snapshot() (CRIU then runs outside it)`, { pid });
  }
  const stoppedBefore = new Set(pids.filter((p) => isStopped(readStat(p))));
  const { builder, dir: imagesDir } = await openDumpTarget(options, "freezedry-dump-");
  const holdTree = builder !== void 0 && !options.leaveRunning && !options.leaveStopped && !options.lazyPages;
  const releaseGuard = holdTree ? resumeTreeIfThisProcessDies(pids) : void 0;
  const workDir = path.resolve(options.workDir ?? imagesDir);
  const logFile = path.join(workDir, "dump.log");
  let sink;
  let progress;
  const lazyConfig = options.lazyPages?.address ? await writeConfig([`address ${options.lazyPages.address}`]) : void 0;
  try {
    if (builder) {
      sink = PageSinkSession.toArchive(builder.writer);
    } else if (options.pageSink) {
      const dirFd = openDirFd(imagesDir);
      try {
        sink = PageSinkSession.toDirectory(dirFd);
      } finally {
        closeFd(dirFd);
      }
    }
    if (sink && options.onProgress) {
      const estimatedBytes = residentBytes(pids);
      const report = options.onProgress;
      const pages = sink;
      progress = setInterval(() => report({ bytes: pages.counters().bytes, estimatedBytes }), 100);
    }
    const { outcome, version } = await runImageRequest(criuPath, { imagesDir, workDir }, (fds) => ({
      type: options.preDump ? RequestType.PRE_DUMP : RequestType.DUMP,
      opts: {
        ...commonRpcOptions(options),
        ...fds,
        pid,
        leaveRunning: options.preDump ? void 0 : options.leaveRunning,
        leaveStopped: options.leaveStopped || holdTree,
        lazyPages: options.lazyPages ? true : void 0,
        trackMem: options.trackMem || options.preDump,
        parentImages: options.parentImages,
        pageServer: sink ? { fd: CRIU_PAGE_SERVER_FD } : options.lazyPages ? { address: options.lazyPages.address, port: options.lazyPages.port } : void 0,
        configFile: lazyConfig,
        logFile: "dump.log"
      }
    }), {
      onNotification: options.onNotification,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      kill: options.lazyPages?.abandon,
      inheritFds: sink ? [sink.criuEnd] : []
    });
    if (!outcome.response.success) {
      if (sink?.failure && !outcome.rejected)
        throw writeError(sink.failure, builder?.partial ?? imagesDir);
      throw await failureError("dump", outcome, logFile, `criu dump of pid ${pid} (${command})`);
    }
    await sink?.done.catch((error) => {
      throw writeError(error, builder?.partial ?? imagesDir);
    });
    const stats = await readDumpStats(imagesDir);
    if (options.snapshot)
      await writeFile(path.join(imagesDir, SNAPSHOT_FILE), `${JSON.stringify(options.snapshot)}
`);
    const result = {
      pid,
      logFile,
      durationMs: 0,
      leftRunning: options.leaveRunning === true || options.preDump === true,
      pids,
      stats,
      criu: { path: criuPath, version: version.text }
    };
    if (builder && sink) {
      result.archive = await assembleArchive(builder, sink, imagesDir, { pid, command, criuVersion: version.text, stats, snapshot: options.snapshot });
      if (holdTree)
        signalEach([...pids].reverse(), "SIGKILL");
      await rm(imagesDir, { recursive: true, force: true });
      result.logFile = void 0;
    } else {
      result.imagesDir = imagesDir;
    }
    result.durationMs = performance.now() - started;
    return result;
  } catch (error) {
    sink?.cancel();
    await resumeStopped(pids, stoppedBefore);
    await builder?.abandon();
    await removePartialImages(imagesDir, logFile);
    throw error;
  } finally {
    releaseGuard?.();
    if (progress)
      clearInterval(progress);
    sink?.close();
    if (lazyConfig)
      await rm(path.dirname(lazyConfig), { recursive: true, force: true });
  }
}
async function writeConfig(lines) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "freezedry-criu-conf-"));
  const file = path.join(dir, "criu.conf");
  await writeFile(file, `${lines.join("\n")}
`, { mode: 384 });
  return file;
}
async function assembleArchive(builder, sink, imagesDir, facts) {
  const pagemaps = new Map(sink.pagemaps().map(({ name, bytes }) => [name, bytes]));
  builder.fillReserved(sink.pagesEntries());
  for (const [name, bytes] of pagemaps)
    builder.addBytes(name, bytes);
  await builder.addDirectory(imagesDir);
  const source = {
    names: async () => [...pagemaps.keys(), ...await readdir(imagesDir)],
    read: async (name) => pagemaps.get(name) ?? directorySource(imagesDir).read(name)
  };
  const finished = await builder.finish({
    createdAt: (/* @__PURE__ */ new Date()).toISOString(),
    pid: facts.pid,
    command: facts.command,
    source: sourceHost(facts.criuVersion),
    summary: await summarizeCheckpoint(source),
    criuStats: facts.stats,
    snapshot: facts.snapshot
  });
  const uncompressedBytes = builder.writer.counters().bytesIn;
  return { file: finished.file, bytes: finished.bytes, uncompressedBytes, entries: finished.entries.length + 1 };
}
async function assertMemoryTracking(criuPath) {
  if ((await features({ criu: criuPath })).memTrack)
    return;
  throw new FreezedryError(ErrorCode.KERNEL_FEATURE_MISSING, "CRIU cannot track memory changes on this kernel (no soft-dirty bits: CONFIG_MEM_SOFT_DIRTY is off), so it cannot pre-dump; 'freezedry migrate' tracks writes with userfaultfd instead (--dirty-tracking uffd)");
}
async function resumeStopped(pids, stoppedBefore) {
  const deadline = performance.now() + 2e3;
  for (; ; ) {
    const held = pids.filter((p) => !stoppedBefore.has(p) && isStopped(readStat(p)));
    signalEach(held, "SIGCONT");
    if (held.length === 0 || performance.now() > deadline)
      return;
    await sleep(10);
  }
}

export {
  PageSinkSession,
  checkpoint
};
