import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  LINK_TIMEOUT_MS,
  MessageChannel,
  TICKET_BYTES,
  authenticateSource,
  describeHandshakeFailure,
  links,
  loadCredentials,
  migrateSubject,
  openPageTunnel,
  outerEnds,
  pinBridgeAddress,
  refusedPeer,
  secureServerOptions,
  unbundleImages,
  validateMigrateOptions
} from "./chunk-LPFNCLHK.js";
import {
  fromFlat
} from "./chunk-LO46G7W2.js";
import {
  PageSinkSession
} from "./chunk-LYAUOJZ5.js";
import {
  LazyPageServer,
  assertCompatible,
  assertRootRunning,
  compatibilityGaps,
  directoryLazySource,
  planLazyRestore,
  restore,
  sharesNoPages,
  watchRestoredRoot
} from "./chunk-WYHYPIIF.js";
import {
  afterThisProcessDies,
  describeFailure,
  errorLines,
  readLog
} from "./chunk-6SZ63I6Z.js";
import {
  migrationCriuOptions
} from "./chunk-OFDVBURY.js";
import {
  findStored,
  newStoreEntry
} from "./chunk-LJEMCCOU.js";
import {
  assertRoot,
  processTree,
  residentBytes,
  signalEach
} from "./chunk-MRR2X73E.js";
import {
  openDumpTarget
} from "./chunk-ZVYR6UP2.js";
import {
  lazyPagesAvailable,
  version,
  versionAndFeatures
} from "./chunk-SREGTA7H.js";
import {
  canLockWithNftables,
  locateCriu
} from "./chunk-CJKMJKBO.js";
import {
  CHECKPOINT_DIR,
  CHECKPOINT_PREFIX,
  CONTAINER_FACTS,
  DELETED_FILES,
  ROOTFS_DIFF,
  SPEC_DUMP,
  applyRootfsDiff,
  command,
  containerSpec,
  foreignFacts,
  networkNamespaceOf,
  provideEngineMounts,
  readFacts,
  rootfsFingerprint,
  unpackForeign,
  upperChanges,
  writeRootfsDiff
} from "./chunk-ZYG2T3UV.js";
import {
  rootDirectoryMode,
  summarizeCheckpoint
} from "./chunk-4LSSWRP7.js";
import {
  PAGE_SIZE,
  directorySource,
  readDumpStats,
  warmUpImageDecoders
} from "./chunk-F3SPZOCF.js";
import {
  assertImagesPresent,
  removePartialImages
} from "./chunk-Y4SUBUAX.js";
import {
  Archive,
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
  abortError,
  isFreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/migrate/destination.js
import { randomBytes as randomBytes4 } from "node:crypto";
import { mkdtemp as mkdtemp2, rm as rm5 } from "node:fs/promises";
import { createServer } from "node:tls";
import os3 from "node:os";
import path9 from "node:path";

// lib/migrate/image-chain.js
import { mkdir, symlink } from "node:fs/promises";
import path from "node:path";
var DIR_NAME = /^(r\d{1,4}|final)$/;
var FILE_NAME = /^[\w.+-]+\.img$/;
var ImageChain = class {
  root;
  dirs = [];
  constructor(root) {
    this.root = root;
  }
  /** The directory a restore starts from: the newest of the chain. */
  get last() {
    const name = this.dirs.at(-1);
    return name === void 0 ? void 0 : path.join(this.root, name);
  }
  /** Stores one 'image-file' message and the bytes that follow it. */
  async receive(channel, message) {
    const dir = String(message.dir);
    const name = String(message.name);
    const size = Number(message.size);
    if (!DIR_NAME.test(dir) || !FILE_NAME.test(name) || !Number.isSafeInteger(size) || size < 0) {
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `malformed image file from the source (${JSON.stringify({ dir, name, size })})`);
    }
    await this.open(dir);
    await channel.receiveFile(size, path.join(this.root, dir, name));
  }
  /** A directory seen for the first time is a new link of the chain: its parent is the one before. */
  async open(dir) {
    if (this.dirs.at(-1) === dir)
      return;
    if (this.dirs.includes(dir) || this.dirs.at(-1) === "final") {
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `image directory ${dir} out of order (after ${this.dirs.join(", ")})`);
    }
    await mkdir(path.join(this.root, dir), { recursive: true, mode: 448 });
    const parent = this.dirs.at(-1);
    if (parent !== void 0)
      await symlink(`../${parent}`, path.join(this.root, dir, "parent"));
    this.dirs.push(dir);
  }
};

// lib/migrate/page-store.js
import { closeSync, openSync, writeSync } from "node:fs";
import path2 from "node:path";
var PageStore = class {
  file;
  fd;
  end = 0;
  /** image pid → page index (see PageIndex). */
  index = /* @__PURE__ */ new Map();
  constructor(dir) {
    this.file = path2.join(dir, "precopied.pages");
    this.fd = openSync(this.file, "w+", 384);
  }
  /** Bytes the file holds (pages sent more than once count once). */
  get bytes() {
    return this.end;
  }
  /** `data` holds the ranges' bytes back to back; ranges are page aligned. */
  write(pid, ranges, data) {
    let pages = this.index.get(pid);
    if (!pages)
      this.index.set(pid, pages = new PageIndex());
    let run = { file: -1, data: 0, length: 0 };
    const flush = () => {
      if (run.length > 0)
        writeAll(this.fd, data, run.data, run.length, run.file);
    };
    let at = 0;
    for (const [start, end] of ranges) {
      for (let address = start; address < end; address += PAGE_SIZE, at += PAGE_SIZE) {
        const page = address / PAGE_SIZE;
        let offset = pages.get(page);
        if (offset < 0) {
          offset = this.end;
          this.end += PAGE_SIZE;
          pages.set(page, offset);
        }
        if (run.length > 0 && offset === run.file + run.length && at === run.data + run.length) {
          run.length += PAGE_SIZE;
        } else {
          flush();
          run = { file: offset, data: at, length: PAGE_SIZE };
        }
      }
    }
    flush();
    if (at !== data.length)
      throw new Error(`pages message: ${data.length} bytes for ${at} bytes of ranges`);
  }
  /** Forgets pages (written again at the source since they were sent). */
  drop(pid, ranges) {
    const pages = this.index.get(pid);
    if (!pages)
      return;
    for (const [start, end] of ranges)
      for (let address = start; address < end; address += PAGE_SIZE)
        pages.set(address / PAGE_SIZE, -1);
  }
  /**
   * A remote lazy plan (every lazy page pulled from the source's page server) turned into one
   * that takes each page from this file when it holds it: image 0 is this file, and the remote
   * images follow (numbered from 1).
   */
  route(plan) {
    const table = {};
    let localPages = 0;
    let remotePages = 0;
    for (const [key, rows] of Object.entries(plan.table)) {
      const pid = Number(key);
      const pages = this.index.get(pid);
      const out = [];
      for (let r = 0; r + 4 < rows.length; r += 5) {
        const address = rows[r];
        const count = rows[r + 1] / PAGE_SIZE;
        const remoteImage = rows[r + 2] + 1;
        const priority = rows[r + 4];
        const offsets = pages ? pages.range(address / PAGE_SIZE, count) : new Float64Array(count).fill(-1);
        let runFirst = 0;
        for (let i = 1; i <= count; i++) {
          const first = offsets[runFirst];
          if (i < count) {
            const offset = offsets[i];
            if (first < 0 ? offset < 0 : offset === first + (i - runFirst) * PAGE_SIZE)
              continue;
          }
          const start = address + runFirst * PAGE_SIZE;
          const length = (i - runFirst) * PAGE_SIZE;
          if (first < 0) {
            out.push(start, length, remoteImage, start, priority);
            remotePages += i - runFirst;
          } else {
            out.push(start, length, 0, first, priority);
            localPages += i - runFirst;
          }
          runFirst = i;
        }
      }
      table[pid] = Float64Array.from(out);
    }
    return { ...plan, table, images: [path2.basename(this.file)], localPages, remotePages };
  }
  close() {
    closeSync(this.fd);
  }
};
var PageIndex = class {
  blocks = /* @__PURE__ */ new Map();
  get(page) {
    return this.blocks.get(Math.floor(page / 1024))?.[page % 1024] ?? -1;
  }
  /** The offsets of `count` pages from `first`, copied a block at a time. */
  range(first, count) {
    const out = new Float64Array(count).fill(-1);
    for (let page = first; page < first + count; ) {
      const within = page % 1024;
      const take = Math.min(1024 - within, first + count - page);
      const block = this.blocks.get(Math.floor(page / 1024));
      if (block)
        out.set(block.subarray(within, within + take), page - first);
      page += take;
    }
    return out;
  }
  set(page, offset) {
    const key = Math.floor(page / 1024);
    let block = this.blocks.get(key);
    if (!block) {
      if (offset < 0)
        return;
      this.blocks.set(key, block = new Float64Array(1024).fill(-1));
    }
    block[page % 1024] = offset;
  }
};
function writeAll(fd, data, offset, length, position) {
  let done = 0;
  while (done < length)
    done += writeSync(fd, data, offset + done, length - done, position + done);
}

// lib/container/landing.js
import { mkdir as mkdir6 } from "node:fs/promises";
import path8 from "node:path";

// lib/container/bundle.js
import { randomBytes as randomBytes2 } from "node:crypto";
import { existsSync as existsSync2, readFileSync } from "node:fs";
import { mkdir as mkdir2, readdir, rm as rm2, stat, writeFile as writeFile2 } from "node:fs/promises";
import path3 from "node:path";

// lib/container/network.js
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
async function createNetns(file) {
  await writeFile(file, "", { flag: "wx", mode: 384 });
  try {
    await command("unshare", [`--net=${file}`, "ip", "link", "set", "lo", "up"]);
  } catch (cause) {
    await removeNetns(file);
    throw new FreezedryError(ErrorCode.RUNC_FAILED, `Could not create a network namespace at ${file}: ${cause.message}`, { cause });
  }
}
async function removeNetns(file) {
  if (!existsSync(file))
    return;
  await command("umount", [file], { reject: false });
  await rm(file, { force: true });
}
async function describeNetwork(inside) {
  const ns = typeof inside === "number" ? `/proc/${inside}/ns/net` : inside;
  const ip = async (...args) => JSON.parse((await command("nsenter", [`--net=${ns}`, "ip", "-j", ...args])).stdout || "[]");
  const veths = links(["type", "veth"], ns);
  const outer = outerEnds(veths);
  const addresses = await ip("addr", "show");
  const routes = await ip("route", "show");
  return {
    veths: veths.map((veth) => ({
      name: veth.ifname,
      mac: veth.address ?? "",
      mtu: veth.mtu ?? 1500,
      addresses: (addresses.find((a) => a.ifname === veth.ifname)?.addr_info ?? []).filter((a) => a.family === "inet" || a.family === "inet6" && a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`),
      bridge: outer.get(veth.ifname)?.master
    })),
    routes: routes.filter((r) => r.protocol !== "kernel").map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev }))
  };
}
async function buildNetwork(file, facts, bridge) {
  const inside = (...args) => command("nsenter", [`--net=${file}`, "ip", ...args]);
  const ends = [];
  for (const veth of facts.veths) {
    const master = bridge ?? veth.bridge;
    if (master === void 0 || !links([]).some((l) => l.ifname === master && l.linkinfo?.info_kind === "bridge")) {
      throw new FreezedryError(ErrorCode.INCOMPATIBLE_HOST, `The container's ${veth.name} was plugged into bridge ${master ?? "(none)"}, which this host lacks: name one that is here (bridge, --bridge)`, { bridge: master });
    }
    const outer = `fz${randomBytes(5).toString("hex")}`;
    await command("ip", ["link", "add", outer, "type", "veth", "peer", "name", veth.name, "netns", file]);
    await inside("link", "set", veth.name, "address", veth.mac, "mtu", String(veth.mtu));
    for (const address of veth.addresses)
      await inside("addr", "add", address, "dev", veth.name);
    await inside("link", "set", veth.name, "up");
    await command("ip", ["link", "set", outer, "up"]);
    ends.push([outer, master]);
  }
  for (const route of facts.routes) {
    await inside("route", "add", route.dst, ...route.gateway ? ["via", route.gateway] : [], "dev", route.dev);
  }
  return {
    plug: async () => {
      for (const [outer, master] of ends)
        await command("ip", ["link", "set", outer, "master", master]);
    }
  };
}
async function unplugNetwork(inside) {
  const ns = typeof inside === "number" ? `/proc/${inside}/ns/net` : inside;
  const ends = [...outerEnds(links(["type", "veth"], ns)).values()].filter((l) => l.master);
  const set = (link, ...args) => command("ip", ["link", "set", link.ifname, ...args]);
  const replug = async () => {
    await Promise.all(ends.map((link) => set(link, "master", link.master).catch(() => {
    })));
  };
  try {
    await Promise.all(ends.map((link) => set(link, "nomaster")));
  } catch (cause) {
    await replug();
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `Could not take the container's veths off their bridges: ${cause.message}`, { cause });
  }
  return {
    replug,
    commands: ends.map((link) => `${link.ifname}=${link.master}`),
    // Before the container ends: with its veths gone, no reset of its connections reaches a client.
    cut: async () => {
      await Promise.all(ends.map((link) => command("ip", ["link", "del", link.ifname], { reject: false })));
    }
  };
}

// lib/container/bundle.js
var DEFAULT_CONTAINERS = "/var/lib/freezedry/containers";
var RECORD = "freezedry-container.json";
var ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
function containersRoot() {
  return path3.resolve(process.env.FREEZEDRY_CONTAINERS ?? DEFAULT_CONTAINERS);
}
function validateContainerId(id) {
  if (typeof id !== "string" || !ID.test(id)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `Invalid container ID '${String(id)}': up to 64 letters, digits, '_', '.' and '-'`, { argument: "id", value: id });
  }
}
function bundleOf(id) {
  const dir = path3.join(containersRoot(), id);
  return { id, dir, rootfs: path3.join(dir, "rootfs"), upper: path3.join(dir, "upper"), logFile: path3.join(dir, "container.log"), netns: path3.join(dir, "netns") };
}
function readRecord(id) {
  try {
    return JSON.parse(readFileSync(path3.join(bundleOf(id).dir, RECORD), "utf8"));
  } catch {
    return void 0;
  }
}
async function writeSpec(bundleDir, spec) {
  await writeFile2(path3.join(bundleDir, "config.json"), `${JSON.stringify(spec, null, 2)}
`);
}
function readSpec(bundleDir) {
  return JSON.parse(readFileSync(path3.join(bundleDir, "config.json"), "utf8"));
}
async function listRecords() {
  const ids = await readdir(containersRoot()).catch(() => []);
  return ids.map(readRecord).filter((r) => r !== void 0);
}
async function assertRootfs(dir) {
  const resolved = path3.resolve(dir);
  const info = await stat(resolved).catch(() => void 0);
  if (!info?.isDirectory()) {
    throw new FreezedryError(ErrorCode.ROOTFS_MISSING, `The rootfs ${resolved} ${info ? "is not a directory" : "does not exist"}`, { path: resolved });
  }
  if (/[,:]/.test(resolved)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `The rootfs path ${resolved} holds ',' or ':', which overlayfs options cannot carry`);
  }
  return resolved;
}
async function createBundle(record, spec) {
  const bundle = bundleOf(record.id);
  await mkdir2(containersRoot(), { recursive: true, mode: 448 });
  try {
    await mkdir2(bundle.dir, { mode: 448 });
  } catch (cause) {
    if (cause.code === "EEXIST") {
      throw new FreezedryError(ErrorCode.CONTAINER_EXISTS, `A container '${record.id}' exists already (${bundle.dir}); remove it with 'freezedry container rm ${record.id}'`, { id: record.id });
    }
    throw cause;
  }
  try {
    for (const sub of ["rootfs", "upper", "work"])
      await mkdir2(path3.join(bundle.dir, sub));
    if (record.net)
      await createNetns(bundle.netns);
    const config = { ...spec, root: { ...spec.root, path: bundle.rootfs }, linux: linuxSection(spec.linux, record.id, record.net ? bundle.netns : void 0) };
    await writeSpec(bundle.dir, config);
    await writeFile2(path3.join(bundle.dir, RECORD), `${JSON.stringify(record, null, 2)}
`);
    await command("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${record.lowerDir},upperdir=${bundle.upper},workdir=${path3.join(bundle.dir, "work")}`, bundle.rootfs]);
  } catch (cause) {
    await removeBundle(record.id);
    throw new FreezedryError(ErrorCode.RUNC_FAILED, `Could not prepare the bundle of '${record.id}': ${cause.message}`, { cause });
  }
  return bundle;
}
async function removeBundle(id) {
  const bundle = bundleOf(id);
  if (!existsSync2(bundle.dir))
    return;
  if (await isMountPoint(bundle.rootfs))
    await command("umount", ["-l", bundle.rootfs]);
  await removeNetns(bundle.netns);
  await rm2(bundle.dir, { recursive: true, force: true });
}
async function isMountPoint(dir) {
  const result = await command("mountpoint", ["-q", dir], { reject: false });
  return result.exitCode === 0;
}
function linuxSection(linux, id, netns) {
  const spec = linux ?? {};
  const others = (spec.namespaces ?? []).filter((ns) => ns.type !== "network");
  return {
    ...spec,
    namespaces: netns ? [...others, { type: "network", path: netns }] : spec.namespaces ?? [],
    // A cgroup of its own per bundle: a restored copy never lands in the cgroup of a paused
    // original (same ID, another runc root, on one machine), which would freeze it too.
    cgroupsPath: `/freezedry/${id}-${randomBytes2(3).toString("hex")}`
  };
}

// lib/container/lifecycle.js
import { randomBytes as randomBytes3 } from "node:crypto";
import { readFileSync as readFileSync3 } from "node:fs";

// lib/container/runc.js
import { accessSync, closeSync as closeSync2, constants, createReadStream, mkdtempSync, readFileSync as readFileSync2, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path4 from "node:path";
import { spawn } from "node:child_process";
var DEFAULT_RUNC_ROOT = "/run/runc";
var MIN_VERSION = [1, 1];
var Runc = class _Runc {
  path;
  root;
  version;
  criuDir;
  constructor(runcPath, root, version2, criuDir) {
    this.path = runcPath;
    this.root = root;
    this.version = version2;
    this.criuDir = criuDir;
  }
  static async open(options = {}) {
    const runcPath = locateRunc();
    const { stdout } = await command(runcPath, ["--version"], { reject: false });
    const version2 = /runc version (\d+)\.(\d+)\.(\d+)/.exec(stdout);
    if (!version2) {
      throw new FreezedryError(ErrorCode.RUNC_NOT_FOUND, `${runcPath} did not report a runc version (it said: ${stdout.trim() || "nothing"})`);
    }
    const [major, minor] = [Number(version2[1]), Number(version2[2])];
    if (major < MIN_VERSION[0] || major === MIN_VERSION[0] && minor < MIN_VERSION[1]) {
      throw new FreezedryError(ErrorCode.RUNC_TOO_OLD, `${runcPath} is runc ${version2[1]}.${version2[2]}.${version2[3]}; freezedry needs runc ${MIN_VERSION.join(".")} or newer`);
    }
    return new _Runc(runcPath, path4.resolve(options.runcRoot ?? DEFAULT_RUNC_ROOT), `${major}.${minor}.${version2[3]}`, criuDirFor(locateCriu(options.criu)));
  }
  /** Runs runc; a failure is a coded error quoting runc's own last error line. */
  async exec(what, call, code = ErrorCode.RUNC_FAILED) {
    const logDir = mkdtempSync(path4.join(os.tmpdir(), "freezedry-runc-"));
    const logFile = path4.join(logDir, "runc.log");
    try {
      const status = call.onStatus ? native().pipe() : void 0;
      const stdio = [...call.stdio ?? ["ignore", "pipe", "pipe"], ...status ? [status[1]] : []];
      const child = spawn(this.path, ["--root", this.root, "--log", logFile, "--log-format", "json", ...call.args], {
        env: { ...process.env, ...call.env, PATH: `${this.criuDir}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` },
        stdio,
        signal: call.signal
      });
      if (child.pid !== void 0)
        call.onSpawn?.(child.pid);
      if (status) {
        closeSync2(status[1]);
        call.onStatus?.(createReadStream("", { fd: status[0] }));
      }
      let stdout = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (chunk) => stdout += chunk);
      child.stderr?.setEncoding("utf8").on("data", (chunk) => stderr += chunk);
      const exitCode = await new Promise((resolve) => {
        child.once("error", () => resolve(null));
        child.once("close", (status2) => resolve(status2));
      });
      if (exitCode === 0)
        return stdout;
      if (call.signal?.aborted)
        throw abortError(call.signal);
      const said = lastError(logFile) ?? stderr.trim();
      throw runcError(what, said, code);
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  }
  /** The container's state, or undefined when runc has no container of that ID. */
  async state(id) {
    const result = await command(this.path, ["--root", this.root, "state", id], { reject: false });
    if (result.exitCode !== 0) {
      if (/does not exist|not exist/.test(result.stderr))
        return void 0;
      throw runcError(`runc state ${id}`, result.stderr.trim(), ErrorCode.RUNC_FAILED);
    }
    return JSON.parse(result.stdout);
  }
  /** The container's state; ERR_NO_SUCH_CONTAINER when there is none. */
  async existing(id) {
    const state = await this.state(id);
    if (!state) {
      throw new FreezedryError(ErrorCode.NO_SUCH_CONTAINER, `No container '${id}' (runc root ${this.root})`, { id, runcRoot: this.root });
    }
    return state;
  }
  async list() {
    const out = await this.exec("runc list", { args: ["list", "--format", "json"] });
    return JSON.parse(out || "null") ?? [];
  }
  /** Stops (SIGKILL) and deletes the container; nothing if it is gone already. */
  async destroy(id) {
    if (!await this.state(id))
      return;
    await this.exec(`runc delete -f ${id}`, { args: ["delete", "--force", id] });
  }
};
function locateRunc() {
  const named = process.env.FREEZEDRY_RUNC;
  const candidates = named ? [named] : [...(process.env.PATH ?? "").split(":").filter(Boolean).map((d) => path4.join(d, "runc")), "/usr/sbin/runc", "/usr/bin/runc"];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
    }
  }
  throw new FreezedryError(ErrorCode.RUNC_NOT_FOUND, named ? `runc not found at ${named} (named by FREEZEDRY_RUNC)` : "runc not found on PATH, /usr/sbin or /usr/bin: install it ('apt-get install --no-install-recommends runc', or 'npm run provision')");
}
var criuDirs = /* @__PURE__ */ new Map();
function criuDirFor(criuPath) {
  if (path4.basename(criuPath) === "criu")
    return path4.dirname(path4.resolve(criuPath));
  let dir = criuDirs.get(criuPath);
  if (!dir) {
    dir = mkdtempSync(path4.join(os.tmpdir(), "freezedry-criu-bin-"));
    symlinkSync(path4.resolve(criuPath), path4.join(dir, "criu"));
    criuDirs.set(criuPath, dir);
  }
  return dir;
}
function lastError(logFile) {
  let text;
  try {
    text = readFileSync2(logFile, "utf8");
  } catch {
    return void 0;
  }
  const messages = text.split("\n").filter(Boolean).map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      return { level: "error", msg: line };
    }
  }).filter((entry) => entry.level === "error" || entry.level === "fatal").map((entry) => entry.msg ?? "");
  return messages.length > 0 ? messages.join("; ") : void 0;
}
async function withCriuErrors(error, logFile, code) {
  if (!(error instanceof FreezedryError))
    return error;
  const lines = errorLines(await readLog(logFile));
  if (lines.length === 0)
    return error;
  return new FreezedryError(code ?? error.code, `${error.message}: ${describeFailure(lines, logFile)}`, { cause: error, criuErrors: lines, logFile });
}
function runcError(what, said, code) {
  return new FreezedryError(code, `${what} failed: ${said || "runc gave no reason"}`, { runcMessage: said });
}

// lib/container/stdio.js
import { spawn as spawn2 } from "node:child_process";
import { closeSync as closeSync3, openSync as openSync2 } from "node:fs";
function logRelay(logFile) {
  const [stdinRead, stdinWrite] = native().pipe();
  closeSync3(stdinWrite);
  const [outRead, outWrite] = native().pipe();
  const logFd = openSync2(logFile, "a", 384);
  try {
    const relay = spawn2("cat", [], { stdio: [outRead, logFd, "ignore"], detached: true });
    relay.on("error", () => {
    });
    relay.unref();
  } finally {
    closeSync3(logFd);
    closeSync3(outRead);
  }
  return {
    fds: [stdinRead, outWrite, outWrite],
    close() {
      closeSync3(stdinRead);
      closeSync3(outWrite);
    }
  };
}

// lib/container/lifecycle.js
async function runContainer(command2, options) {
  if (!Array.isArray(command2) || command2.length === 0 || !command2.every((c) => typeof c === "string" && c.length > 0)) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "runContainer needs a command: a non-empty array of non-empty strings");
  }
  const id = options?.id ?? `fd-${randomBytes3(4).toString("hex")}`;
  validateContainerId(id);
  assertRoot("run a container");
  const runc = await Runc.open(options);
  const lowerDir = await assertRootfs(options.rootfs);
  await assertIdFree(runc, id);
  const record = { id, createdAt: (/* @__PURE__ */ new Date()).toISOString(), lowerDir, net: options.net === true, args: command2 };
  const spec = containerSpec({ args: command2, env: options.env, cwd: options.cwd, hostname: id, net: record.net, nofileLimit: hardNofileLimit() });
  const bundle = await createBundle(record, spec);
  await startInBundle(runc, bundle, ["run", "--detach", "--bundle", bundle.dir, id]);
  return describe(await runc.existing(id), record);
}
async function startInBundle(runc, bundle, args, signal) {
  try {
    const stdio = logRelay(bundle.logFile);
    try {
      await runc.exec(`runc ${args[0]} ${bundle.id}`, { args, stdio: stdio.fds, signal });
      if (signal?.aborted)
        throw abortError(signal);
    } finally {
      stdio.close();
    }
  } catch (error) {
    await runc.destroy(bundle.id).catch(() => {
    });
    await removeBundle(bundle.id);
    throw error;
  }
}
async function assertIdFree(runc, id) {
  if (await runc.state(id)) {
    throw new FreezedryError(ErrorCode.CONTAINER_EXISTS, `The container ID '${id}' is already in use (runc root ${runc.root})`, { id });
  }
}
async function listContainers(options = {}) {
  assertRoot("list containers");
  const runc = await Runc.open(options);
  const states = await runc.list();
  const records = await listRecords();
  const listed = states.map((state) => describe(state, records.find((r) => r.id === state.id)));
  for (const record of records) {
    if (!states.some((s) => s.id === record.id))
      listed.push(describe(void 0, record));
  }
  return listed.sort((a, b) => a.id.localeCompare(b.id));
}
async function removeContainer(id, options = {}) {
  validateContainerId(id);
  assertRoot("remove a container");
  const runc = await Runc.open(options);
  const state = await runc.state(id);
  const record = readRecord(id);
  if (!state && !record)
    throw new FreezedryError(ErrorCode.NO_SUCH_CONTAINER, `No container '${id}' (runc root ${runc.root})`, { id });
  if (state && state.status !== "stopped" && state.status !== "created" && !options.force) {
    throw new FreezedryError(ErrorCode.CONTAINER_EXISTS, `The container '${id}' is ${state.status}: stop it first, or remove it with force (-f)`, { id });
  }
  const info = describe(state, record);
  await runc.destroy(id);
  if (record)
    await removeBundle(id);
  return info;
}
function describe(state, record) {
  const id = state?.id ?? record?.id;
  return {
    id,
    pid: state?.status === "running" || state?.status === "paused" ? state.pid : 0,
    status: state?.status ?? "absent",
    bundle: state?.bundle ?? bundleOf(id).dir,
    managed: record !== void 0,
    logFile: record ? bundleOf(id).logFile : void 0,
    lowerDir: record?.lowerDir,
    createdAt: record?.createdAt ?? state?.created
  };
}
function hardNofileLimit() {
  const line = readFileSync3("/proc/self/limits", "utf8").match(/^Max open files\s+\S+\s+(\S+)/m)?.[1];
  const hard = Number(line);
  return Number.isFinite(hard) && hard > 0 ? hard : 1024;
}

// lib/container/migrate.js
import { once } from "node:events";
import { mkdir as mkdir5, readdir as readdir3, readFile as readFile2, stat as stat3, writeFile as writeFile4 } from "node:fs/promises";
import path7 from "node:path";

// lib/container/checkpoint.js
import { mkdir as mkdir4, readdir as readdir2, rm as rm4, writeFile as writeFile3 } from "node:fs/promises";
import path6 from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// lib/pages/loopback-page-sink.js
import { readFileSync as readFileSync4, readdirSync, readlinkSync } from "node:fs";
import net from "node:net";
var LoopbackPageSink = class _LoopbackPageSink {
  port;
  /** Settles with the session once CRIU connected (rejects if closed first). */
  session;
  /** The session, once CRIU connected. */
  accepted;
  server;
  settle;
  constructor(server, port, target, treeRoot) {
    this.server = server;
    this.port = port;
    this.session = new Promise((resolve, reject) => this.settle = { resolve, reject });
    this.session.catch(() => {
    });
    server.on("connection", (socket) => {
      const root = treeRoot();
      if (this.accepted || root === void 0 || !ownedByTree(socket, root)) {
        socket.destroy();
        return;
      }
      try {
        const fd = socket._handle.fd;
        this.accepted = PageSinkSession.onConnection(fd, target);
        this.settle.resolve(this.accepted);
      } catch (error) {
        this.settle.reject(error);
      } finally {
        socket.destroy();
        server.close();
      }
    });
  }
  /** Listens on 127.0.0.1 (a free port); `treeRoot` names the process whose tree may connect. */
  static async listen(target, treeRoot) {
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address();
    return new _LoopbackPageSink(server, port, target, treeRoot);
  }
  close() {
    this.server.close();
    if (!this.accepted) {
      this.settle.reject(new FreezedryError(ErrorCode.PAGE_SINK_FAILED, "CRIU never connected to the page server"));
    }
  }
};
function ownedByTree(socket, root) {
  const inode = loopbackSocketInode(socket.remotePort ?? -1, socket.localPort ?? -1);
  if (inode === void 0)
    return false;
  const wanted = `socket:[${inode}]`;
  return processTree(root).some((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}
function loopbackSocketInode(localPort, remotePort) {
  const address = (port) => `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const local = address(localPort);
  const remote = address(remotePort);
  for (const line of readFileSync4("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote)
      return fields[9];
  }
  return void 0;
}

// lib/container/pause.js
var PausedContainer = class _PausedContainer {
  runc;
  id;
  network;
  pids;
  constructor(runc, id, pid, network) {
    this.runc = runc;
    this.id = id;
    this.network = network;
    this.pids = processTree(pid);
  }
  /** Pauses the container (init `pid`); `unplug`: its veths leave their bridges too. */
  static async pause(runc, id, pid, options) {
    await runc.exec(`runc pause ${id}`, { args: ["pause", id] });
    let network;
    if (options.unplug) {
      network = await unplugNetwork(pid).catch(async (error) => {
        await runc.exec(`runc resume ${id}`, { args: ["resume", id] }).catch(() => {
        });
        throw error;
      });
    }
    return new _PausedContainer(runc, id, pid, network);
  }
  async resume() {
    await this.network?.replug();
    await this.runc.exec(`runc resume ${this.id}`, { args: ["resume", this.id] }).catch(() => {
    });
  }
  /** Ends it (its veths first: no reset of its connections reaches a client); `remove`: its bundle too. */
  async end(options = {}) {
    await this.network?.cut();
    await this.runc.destroy(this.id);
    if (options.remove)
      await removeBundle(this.id);
  }
  /** Should this process die while the container is paused, a watchdog resumes it (for a minute: CRIU may hold it a while). */
  guard() {
    const replug = this.network?.commands ?? [];
    const script = 'runc="$1"; root="$2"; id="$3"; shift 3; i=0; while [ $i -lt 120 ]; do "$runc" --root "$root" resume "$id" 2>/dev/null; for link in "$@"; do ip link set ${link%%=*} master ${link#*=} 2>/dev/null; done; sleep 0.5; i=$((i+1)); done';
    return afterThisProcessDies(script, [this.runc.path, this.runc.root, this.id, ...replug]);
  }
};

// lib/container/restore.js
import { closeSync as closeSync4, existsSync as existsSync3 } from "node:fs";
import { chmod, mkdir as mkdir3, mkdtemp, readFile, rm as rm3, stat as stat2 } from "node:fs/promises";
import os2 from "node:os";
import path5 from "node:path";
async function restoreContainer(options) {
  const started = performance.now();
  const sources = [options?.imagesDir, options?.archive, options?.name].filter((s) => s !== void 0);
  if (sources.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "restoreContainer needs exactly one of imagesDir, archive and name");
  }
  if (options.id !== void 0)
    validateContainerId(options.id);
  if (options.signal?.aborted)
    throw abortError(options.signal);
  assertRoot("restore a container");
  const runc = await Runc.open(options);
  const criuHere = options.force ? void 0 : version({ criu: options.criu });
  criuHere?.catch(() => {
  });
  const scratch = await mkdtemp(path5.join(os2.tmpdir(), "freezedry-ctr-restore-"));
  const restoreLog = path5.join(scratch, "work", "restore.log");
  let source;
  let ownedByFill = false;
  let failed = false;
  try {
    const archiveFile = options.name !== void 0 ? await findStored(options.name, options.storeRoot) : options.archive;
    source = archiveFile ? await openArchiveOrExport(archiveFile, scratch) : await openDirectory(path5.resolve(options.imagesDir));
    if (source.archive && criuHere)
      assertCompatible(source.archive.manifest.source, await criuHere, source.archive.file);
    const id = options.prepared?.bundle.id ?? options.id ?? source.facts.id;
    const { bundle, network } = options.prepared ?? await prepareBundle(runc, { ...options, id, facts: source.facts, spec: source.spec, restoredFrom: archiveFile ?? options.imagesDir });
    try {
      await applyRootfsDiff(bundle.rootfs, { tarFile: source.diffTar, deleted: source.deleted });
      if (source.facts.engine !== "freezedry")
        await writeSpec(bundle.dir, await provideEngineMounts(readSpec(bundle.dir), source.dir, bundle.dir));
      const rootMode = await rootDirectoryMode(source.archive ? source.archive.imageSource(CHECKPOINT_PREFIX) : directorySource(source.imagesDir));
      if (rootMode !== void 0 && ((await stat2(bundle.rootfs)).mode & 4095) !== (rootMode & 4095))
        await chmod(bundle.rootfs, rootMode & 4095);
    } catch (error) {
      await removeBundle(id);
      throw error;
    }
    let imagesDir = source.imagesDir;
    let plan;
    let lazySource;
    const pageFiles = [];
    if (source.archive) {
      imagesDir = path5.join(scratch, CHECKPOINT_DIR);
      const throughFaults = options.lazy || await sharesNoPages(source.archive.imageSource(CHECKPOINT_PREFIX)) && await lazyPagesAvailable(locateCriu(options.criu));
      if (throughFaults) {
        plan = await planLazyRestore(source.archive.imageSource(CHECKPOINT_PREFIX));
        lazySource = source.archive.pageSource(plan.images, CHECKPOINT_PREFIX);
      }
      await source.archive.extract(imagesDir, void 0, plan?.eager, CHECKPOINT_PREFIX);
    } else if (options.lazy) {
      ({ plan, source: lazySource } = await directoryLazySource(imagesDir, options.remotePages, pageFiles));
    }
    const workDir = path5.dirname(restoreLog);
    const restoring = runcRestore(runc, {
      id,
      bundleDir: bundle.dir,
      imagesDir,
      workDir,
      logFile: bundle.logFile,
      criuOptions: source.facts.criuOptions,
      // A namespace runc and CRIU make come back empty, loopback down.
      raiseLoopback: !source.facts.net && networkNamespaceOf(source.spec) !== void 0,
      lazy: plan && lazySource ? { plan, source: lazySource } : void 0,
      signal: options.signal
    });
    const restored = await restoring.catch((error) => {
      pageFiles.forEach((fd) => closeSync4(fd));
      throw error;
    });
    await network?.plug().catch(async (cause) => {
      restored.server?.close();
      restored.root.release();
      pageFiles.forEach((fd) => closeSync4(fd));
      await runc.destroy(id).catch(() => {
      });
      await removeBundle(id);
      throw new FreezedryError(ErrorCode.RUNC_FAILED, `Restored '${id}' but could not plug its network into its bridge: ${cause.message}`, { cause });
    });
    let lazy;
    if (restored.server) {
      const server = restored.server;
      const archive = source.archive;
      ownedByFill = true;
      const fill = server.complete.then(async (stats) => {
        await assertRootRunning(restored.root, "the lazy fill");
        return stats;
      }).finally(() => {
        restored.root.release();
        pageFiles.forEach((fd) => closeSync4(fd));
        archive?.close();
        void rm3(scratch, { recursive: true, force: true });
      });
      fill.catch(() => {
      });
      lazy = { fill, stats: () => server.stats() };
    }
    if (lazy && !options.lazy) {
      await lazy.fill.catch(async (error) => {
        await runc.destroy(id).catch(() => {
        });
        await removeBundle(id);
        throw error;
      });
      lazy = void 0;
    }
    return { id, pid: restored.root.pid, bundle: bundle.dir, durationMs: performance.now() - started, lazy };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    if (!ownedByFill) {
      source?.archive?.close();
      if (failed && existsSync3(restoreLog))
        await removePartialImages(scratch, restoreLog);
      else
        await rm3(scratch, { recursive: true, force: true });
    }
  }
}
async function prepareBundle(runc, request) {
  const { id, facts } = request;
  validateContainerId(id);
  await assertIdFree(runc, id);
  await replaceStaleBundle(id, facts);
  const lowerDir = await chooseRootfs(request, facts);
  const bundle = await createBundle({ id, createdAt: (/* @__PURE__ */ new Date()).toISOString(), lowerDir, net: facts.net, args: facts.args, restoredFrom: request.restoredFrom }, request.spec);
  try {
    return { bundle, network: facts.network ? await buildNetwork(bundle.netns, facts.network, request.bridge) : void 0 };
  } catch (error) {
    await removeBundle(id);
    throw error;
  }
}
async function runcRestore(runc, request) {
  const { id, criuOptions } = request;
  await mkdir3(request.workDir, { recursive: true });
  const server = request.lazy ? LazyPageServer.start(request.workDir, request.lazy.plan, request.lazy.source) : void 0;
  const args = [
    "restore",
    "--detach",
    "--bundle",
    request.bundleDir,
    "--image-path",
    request.imagesDir,
    "--work-path",
    request.workDir,
    ...criuOptions.tcpEstablished ? ["--tcp-established"] : [],
    ...criuOptions.fileLocks ? ["--file-locks"] : [],
    ...server ? ["--lazy-pages"] : [],
    id
  ];
  try {
    await startInBundle(runc, { id, logFile: request.logFile }, args, request.signal);
  } catch (error) {
    server?.close();
    throw await withCriuErrors(error, path5.join(request.workDir, "restore.log"), ErrorCode.CRIU_RESTORE_FAILED);
  }
  const state = await runc.existing(id);
  if (request.raiseLoopback) {
    await command("nsenter", ["-t", String(state.pid), "-n", "ip", "link", "set", "lo", "up"]).catch(async (cause) => {
      server?.close();
      await runc.destroy(id).catch(() => {
      });
      await removeBundle(id);
      throw new FreezedryError(ErrorCode.RUNC_FAILED, `Could not bring up loopback in '${id}': ${cause.message}`, { cause });
    });
  }
  const root = watchRestoredRoot(state.pid, false);
  server?.attach(state.pid);
  if (!server) {
    try {
      await assertRootRunning(root, "its restore");
    } finally {
      root.release();
    }
  }
  return { root, server };
}
async function openArchiveOrExport(file, scratch) {
  try {
    return await openArchive(file, scratch);
  } catch (error) {
    const code = error.code;
    if (code !== ErrorCode.ARCHIVE_FORMAT && code !== ErrorCode.ARCHIVE_TRUNCATED)
      throw error;
    const dir = path5.join(scratch, "export");
    await mkdir3(dir);
    await unpackForeign(file, dir).catch((foreign) => {
      throw code === ErrorCode.ARCHIVE_TRUNCATED ? error : foreign;
    });
    return openDirectory(dir);
  }
}
async function openDirectory(dir) {
  const facts = await readFacts(dir) ?? (existsSync3(path5.join(dir, SPEC_DUMP)) ? await foreignFacts(dir) : void 0);
  if (!facts) {
    throw new FreezedryError(ErrorCode.NOT_A_CONTAINER_CHECKPOINT, `${dir} holds no container checkpoint (no ${CONTAINER_FACTS} nor ${SPEC_DUMP})`, { path: dir });
  }
  const imagesDir = path5.join(dir, CHECKPOINT_DIR);
  await assertImagesPresent(imagesDir);
  const spec = JSON.parse(await readFile(path5.join(dir, SPEC_DUMP), "utf8"));
  const deleted = JSON.parse(await readFile(path5.join(dir, DELETED_FILES), "utf8").catch(() => "[]"));
  const diffTar = path5.join(dir, ROOTFS_DIFF);
  return { facts, spec, deleted, dir, imagesDir, diffTar: existsSync3(diffTar) ? diffTar : void 0 };
}
async function openArchive(file, scratch) {
  const archive = await Archive.open(file);
  try {
    const facts = archive.manifest.container;
    if (!facts) {
      throw new FreezedryError(ErrorCode.NOT_A_CONTAINER_CHECKPOINT, `${archive.file} is a process checkpoint: restore it with 'freezedry restore'`, { path: archive.file });
    }
    const spec = JSON.parse((await archive.read(SPEC_DUMP) ?? Buffer.from("null")).toString("utf8"));
    if (!spec)
      throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${archive.file} has no ${SPEC_DUMP}`, { path: archive.file });
    const deleted = JSON.parse((await archive.read(DELETED_FILES) ?? Buffer.from("[]")).toString("utf8"));
    let diffTar;
    if (archive.entry(ROOTFS_DIFF)) {
      diffTar = path5.join(scratch, ROOTFS_DIFF);
      await archive.extractEntry(ROOTFS_DIFF, diffTar);
    }
    return { facts, spec, deleted, diffTar, archive };
  } catch (error) {
    archive.close();
    throw error;
  }
}
async function chooseRootfs(options, facts) {
  if (options.rootfs === void 0 && facts.rootfs.included) {
    const empty = path5.join(containersRoot(), ".empty-rootfs");
    await mkdir3(empty, { recursive: true, mode: 493 });
    return empty;
  }
  const wanted = options.rootfs ?? facts.rootfs.path;
  if (wanted === void 0) {
    throw new FreezedryError(ErrorCode.ROOTFS_MISSING, "The checkpoint names no rootfs: give one (--rootfs DIR)");
  }
  const lowerDir = await assertRootfs(wanted);
  if (facts.rootfs.fingerprint && !options.force) {
    const found = await rootfsFingerprint(lowerDir);
    if (found !== facts.rootfs.fingerprint) {
      throw new FreezedryError(ErrorCode.ROOTFS_MISMATCH, `The rootfs ${lowerDir} is not the one the container was checkpointed over (fingerprint ${found.slice(0, 19)}\u2026, checkpoint has ${facts.rootfs.fingerprint.slice(0, 19)}\u2026); pass force to restore over it anyway`, { path: lowerDir });
    }
  }
  return lowerDir;
}
async function replaceStaleBundle(id, facts) {
  const record = readRecord(id);
  if (!record)
    return;
  if (record.id === facts.id && record.createdAt !== void 0 && record.createdAt === facts.createdAt) {
    await removeBundle(id);
    return;
  }
  throw new FreezedryError(ErrorCode.CONTAINER_EXISTS, `A stopped container '${id}' (not the one checkpointed) still has its bundle; remove it with 'freezedry container rm ${id}' or restore under another ID`, { id });
}

// lib/container/checkpoint.js
async function runningContainer(runc, id) {
  const state = await runc.existing(id);
  if (state.status !== "running") {
    throw new FreezedryError(ErrorCode.CONTAINER_NOT_RUNNING, `The container '${id}' is ${state.status}, not running: nothing to checkpoint`, { id });
  }
  const spec = readSpec(state.bundle);
  const given = networkNamespaceOf(spec)?.path !== void 0;
  return { id, state, record: readRecord(id), spec, network: given ? await describeNetwork(state.pid) : void 0 };
}
async function checkpointContainer(id, options) {
  validateContainerId(id);
  const targets = [options?.imagesDir, options?.archive, options?.name].filter((t) => t !== void 0);
  if (targets.length !== 1) {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "checkpointContainer needs exactly one of imagesDir, archive and name");
  }
  if (options.signal?.aborted)
    throw abortError(options.signal);
  assertRoot("checkpoint a container");
  const runc = await Runc.open(options);
  const container = await runningContainer(runc, id);
  if (options.name !== void 0)
    options = { ...options, archive: await newStoreEntry(options.name, options.storeRoot), name: void 0 };
  return (await dumpContainer(runc, container, options, false)).result;
}
async function checkpointContainerHeld(runc, container, facts, options) {
  const { result, paused } = await dumpContainer(runc, container, options, true, facts);
  return { result, paused };
}
async function dumpContainer(runc, container, options, hold, knownFacts) {
  const started = performance.now();
  const { id, state, record } = container;
  const { builder, dir } = await openDumpTarget(options, "freezedry-ctr-dump-");
  const imagesDir = path6.join(dir, CHECKPOINT_DIR);
  const logFile = path6.join(dir, "dump.log");
  const criuOptions = { tcpEstablished: options.tcpEstablished === true, fileLocks: options.fileLocks === true };
  const pause = hold || !options.leaveRunning && !options.tcpEstablished;
  let runcPid;
  let sink;
  let session;
  let paused;
  let progress;
  let known;
  let dumped = false;
  try {
    await mkdir4(imagesDir, { recursive: true });
    if (builder)
      sink = await LoopbackPageSink.listen({ archive: builder.writer, prefix: CHECKPOINT_PREFIX }, () => runcPid);
    if (sink && options.onProgress) {
      const estimatedBytes = residentBytes(processTree(state.pid));
      const [report, pages] = [options.onProgress, sink];
      progress = setInterval(() => report({ bytes: pages.accepted?.counters().bytes ?? 0, estimatedBytes }), 100);
    }
    known = knownFacts ?? await containerFacts(container, criuOptions, options.withRootfs === true);
    if (pause)
      paused = await PausedContainer.pause(runc, id, state.pid, { unplug: hold });
    const args = [
      "checkpoint",
      "--image-path",
      imagesDir,
      "--work-path",
      dir,
      ...options.leaveRunning || pause ? ["--leave-running"] : [],
      ...options.tcpEstablished ? ["--tcp-established"] : [],
      ...options.fileLocks ? ["--file-locks"] : [],
      ...sink ? ["--page-server", `127.0.0.1:${sink.port}`] : [],
      id
    ];
    try {
      await runc.exec(`runc checkpoint ${id}`, { args, signal: options.signal, onSpawn: (pid) => runcPid = pid }, ErrorCode.CRIU_DUMP_FAILED);
    } catch (error) {
      session = sink?.accepted;
      if (session && builder) {
        await Promise.race([session.done.catch(() => {
        }), sleep(1e3)]);
        if (session.failure)
          throw writeError(session.failure, builder.partial);
      }
      throw await withCriuErrors(error, logFile);
    }
    dumped = true;
    if (sink) {
      session = await sink.session;
      await session.done;
    }
    const facts = await writeContainerFiles(container, dir, known);
    const stats = await readDumpStats(dir);
    const result = {
      id,
      pid: state.pid,
      durationMs: 0,
      leftRunning: options.leaveRunning === true,
      stats,
      rootfsChanges: facts.rootfsChanges
    };
    if (builder && session) {
      result.archive = await assembleArchive(builder, session, dir, facts, stats);
      await rm4(dir, { recursive: true, force: true });
    } else {
      result.imagesDir = dir;
    }
    result.durationMs = performance.now() - started;
    if (hold)
      return { result, paused };
    await paused?.end();
    return { result };
  } catch (error) {
    sink?.close();
    session?.cancel();
    await builder?.abandon();
    if (paused)
      await paused.resume();
    else if (dumped && !options.leaveRunning) {
      await recover(runc, { id, bundleDir: state.bundle, imagesDir, workDir: imagesDir, logFile: record ? bundleOf(id).logFile : "/dev/null", criuOptions }, error);
    }
    await removePartialImages(dir, logFile);
    throw error;
  } finally {
    clearInterval(progress);
    session?.close();
  }
}
async function recover(runc, request, cause) {
  try {
    await runcRestore(runc, request);
  } catch (error) {
    throw new FreezedryError(ErrorCode.CRIU_RESTORE_FAILED, `The checkpoint of '${request.id}' failed after the dump (${cause.message}) and restoring it from ${request.imagesDir} failed too: ${error.message}; its images are kept there`, { cause: error });
  }
}
async function containerFacts(container, criuOptions, withRootfs) {
  const { id, state, record, spec } = container;
  return {
    engine: "freezedry",
    id,
    createdAt: record?.createdAt,
    rootfs: {
      path: record?.lowerDir ?? (withRootfs ? void 0 : state.rootfs),
      fingerprint: withRootfs ? void 0 : await rootfsFingerprint(record?.lowerDir ?? state.rootfs),
      included: withRootfs
    },
    net: record?.net ?? networkNamespaceOf(spec)?.path !== void 0,
    network: container.network,
    args: record?.args ?? [],
    criuOptions,
    rootfsChanges: { changed: 0, deleted: 0 }
  };
}
async function writeContainerFiles(container, dir, known) {
  const { id, state, record, spec } = container;
  const changesRoot = record ? bundleOf(id).upper : state.rootfs;
  const changes = await rootfsChanges(container, known.rootfs.included);
  await writeRootfsDiff(changesRoot, changes, dir);
  await writeFile3(path6.join(dir, SPEC_DUMP), `${JSON.stringify(spec, null, 2)}
`);
  const facts = { ...known, rootfsChanges: { changed: changes.changed.length, deleted: changes.deleted.length } };
  await writeFile3(path6.join(dir, CONTAINER_FACTS), `${JSON.stringify(facts, null, 2)}
`);
  return facts;
}
async function rootfsChanges(container, whole) {
  const { id, state, record } = container;
  if (record)
    return upperChanges(bundleOf(id).upper, { lower: record.lowerDir, merged: bundleOf(id).rootfs });
  if (whole)
    return { changed: (await readdir2(state.rootfs)).sort(), deleted: [] };
  return { changed: [], deleted: [] };
}
async function assembleArchive(builder, session, dir, facts, stats) {
  const imagesDir = path6.join(dir, CHECKPOINT_DIR);
  const pagemaps = new Map(session.pagemaps().map(({ name, bytes }) => [name.slice(CHECKPOINT_PREFIX.length), bytes]));
  builder.fillReserved(session.pagesEntries());
  for (const [name, bytes] of pagemaps)
    builder.addBytes(`${CHECKPOINT_PREFIX}${name}`, bytes);
  await builder.addDirectory(imagesDir, /* @__PURE__ */ new Set(), CHECKPOINT_PREFIX);
  await builder.addDirectory(dir, /* @__PURE__ */ new Set(["dump.log"]));
  const images = {
    names: async () => [...pagemaps.keys(), ...await readdir2(imagesDir)],
    read: async (name) => pagemaps.get(name) ?? directorySource(imagesDir).read(name)
  };
  const finished = await builder.finish({
    createdAt: (/* @__PURE__ */ new Date()).toISOString(),
    command: facts.args.join(" ") || void 0,
    source: sourceHost(await criuVersionOf(dir) ?? "unknown"),
    summary: await summarizeCheckpoint(images),
    criuStats: stats,
    container: facts
  });
  const uncompressedBytes = builder.writer.counters().bytesIn;
  return { file: finished.file, bytes: finished.bytes, uncompressedBytes, entries: finished.entries.length + 1 };
}
async function criuVersionOf(dir) {
  return /Version: (\S+)/.exec(await readLog(path6.join(dir, "dump.log")))?.[1];
}

// lib/container/migrate.js
async function migrateContainer(id, options) {
  validateContainerId(id);
  validateMigrateOptions(options);
  assertRoot("migrate a container");
  const runc = await Runc.open(options);
  const container = await runningContainer(runc, id);
  if (options.tcpEstablished && !container.network?.veths.length) {
    throw new FreezedryError(ErrorCode.INVALID_ARG_VALUE, `The container '${id}' has no network namespace of its own with a veth: its TCP connections cannot keep their address on another host`, { id });
  }
  const criuOptions = { tcpEstablished: options.tcpEstablished === true, fileLocks: options.fileLocks === true };
  const facts = await containerFacts(container, criuOptions, false);
  return migrateSubject(containerSubject(runc, container, facts), { ...options, networkLock: void 0 });
}
function containerSubject(runc, container, facts) {
  const { id, state } = container;
  const { criuOptions } = facts;
  let top;
  const hello = { id, facts, spec: container.spec };
  const moving = (paused) => ({
    pids: paused.pids,
    resume: () => paused.resume(),
    end: () => paused.end({ remove: container.record !== void 0 }),
    guard: () => paused.guard()
  });
  return {
    kind: "container",
    pid: state.pid,
    hello: { container: hello },
    async dumpArchive(file) {
      const { result, paused } = await checkpointContainerHeld(runc, container, facts, { archive: file, archiveOptions: { sync: false }, ...criuOptions });
      return { held: moving(paused), summary: `checkpointed container ${id} into ${result.archive?.bytes} bytes` };
    },
    async lazyDump({ imagesDir, port, abandon, onImages, onServing }) {
      top = path7.dirname(imagesDir);
      const dir = imagesDir;
      await mkdir5(dir, { recursive: true });
      const config = path7.join(top, "criu-lazy.conf");
      await writeFile4(config, "address 127.0.0.1\n");
      const paused = await PausedContainer.pause(runc, id, state.pid, { unplug: true });
      const held = moving(paused);
      let runcPid;
      let finished = false;
      const stop = () => {
        if (runcPid === void 0 || finished)
          return;
        const pid = runcPid;
        void command("pkill", ["-KILL", "-P", String(pid)], { reject: false }).then(() => {
          try {
            if (!finished)
              process.kill(pid, "SIGKILL");
          } catch {
          }
        });
      };
      abandon.addEventListener("abort", stop, { once: true });
      const logFile = path7.join(top, "dump.log");
      let failure;
      const done = runc.exec(`runc checkpoint --lazy-pages ${id}`, {
        args: [
          "checkpoint",
          "--image-path",
          dir,
          "--work-path",
          top,
          "--leave-running",
          "--lazy-pages",
          "--page-server",
          `127.0.0.1:${port}`,
          "--status-fd",
          "3",
          ...criuOptions.tcpEstablished ? ["--tcp-established"] : [],
          ...criuOptions.fileLocks ? ["--file-locks"] : [],
          id
        ],
        env: { CRIU_CONFIG_FILE: config },
        onSpawn: (pid) => runcPid = pid,
        // CRIU writes one byte once its images are written and it serves the memory.
        onStatus: (status) => {
          void once(status, "data").then(async () => {
            try {
              await writeContainerFiles(container, top, facts);
              await onImages();
              onServing();
            } catch (error) {
              failure = error;
              stop();
            }
          });
        }
      }, ErrorCode.CRIU_DUMP_FAILED).then(() => void 0, async (error) => {
        throw failure ?? await withCriuErrors(error, logFile);
      }).finally(() => {
        finished = true;
        abandon.removeEventListener("abort", stop);
      });
      return { held, done };
    },
    async sendExtras(channel) {
      if (!top)
        throw new FreezedryError(ErrorCode.MIGRATION_FAILED, "internal: the container files were not written");
      const names = (await readdir3(top, { withFileTypes: true })).filter((e) => e.isFile() && CONTAINER_FILES.includes(e.name)).map((e) => e.name);
      const contents = await Promise.all(names.map((name) => readFile2(path7.join(top, name))));
      const files = names.map((name, i) => ({ name, size: contents[i].length }));
      channel.sendBytes({ type: "container-files", files }, Buffer.concat(contents));
      const diff = path7.join(top, ROOTFS_DIFF);
      await channel.sendFile({ type: "rootfs-diff" }, diff, (await stat3(diff)).size);
    }
  };
}
var CONTAINER_FILES = ["spec.dump", "deleted.files", "freezedry-container.json"];

// lib/container/landing.js
async function containerLanding(announced, options) {
  const hello = announced ?? {};
  const refusals = [];
  let runc;
  try {
    validateContainerId(hello.id);
    runc = await Runc.open({ runcRoot: options.runcRoot });
    if (await runc.state(hello.id))
      refusals.push(`a container '${hello.id}' exists here already (runc root ${runc.root})`);
  } catch (error) {
    refusals.push(isFreezedryError(error) ? error.message : String(error));
  }
  const here = new Set(links([]).filter((l) => l.linkinfo?.info_kind === "bridge").map((l) => l.ifname));
  for (const veth of hello.facts?.network?.veths ?? []) {
    const bridge = options.bridge ?? veth.bridge;
    if (!bridge || !here.has(bridge)) {
      refusals.push(`the container's ${veth.name} was on bridge ${veth.bridge ?? "(none)"}, and ${bridge ? `${bridge} is not here` : "none is named"}: start receive with one (--bridge)`);
    }
  }
  const id = hello.id;
  let prepared;
  if (refusals.length === 0 && runc && hello.facts && hello.spec) {
    for (const veth of hello.facts.network?.veths ?? [])
      pinBridgeAddress(options.bridge ?? veth.bridge);
    prepared = await prepareBundle(runc, { id, facts: hello.facts, spec: hello.spec, bridge: options.bridge, restoredFrom: "a migration" }).catch((error) => {
      refusals.push(isFreezedryError(error) ? error.message : String(error));
      return void 0;
    });
  } else if (refusals.length === 0) {
    refusals.push("the source described no container (an older freezedry?)");
  }
  const common = { id, runcRoot: options.runcRoot, bridge: options.bridge, prepared };
  return {
    refusals,
    restoreWhole: async (where, signal) => {
      if (!("archive" in where))
        throw new Error("a container arrives as an archive or lazily");
      return restoreContainer({ ...common, archive: where.archive, signal });
    },
    receiveFiles: async (channel, offer, top) => {
      await mkdir6(top, { recursive: true });
      const bytes = await channel.receiveBytes(offer.size);
      const files = Array.isArray(offer.files) ? offer.files : [];
      if (!files.every((file) => CONTAINER_FILES.includes(file?.name)))
        throw new Error("unexpected container files from the source");
      await unbundleImages(offer.files, bytes, top);
      const diff = await channel.next("rootfs-diff");
      await channel.receiveFile(diff.size, path8.join(top, ROOTFS_DIFF));
    },
    restoreLazy: async (top, remotePages, signal) => {
      const restored = await restoreContainer({ ...common, imagesDir: top, lazy: true, remotePages, signal });
      return { pid: restored.pid, durationMs: restored.durationMs, fill: restored.lazy?.fill };
    },
    end: async () => {
      await removeContainer(id, { runcRoot: options.runcRoot, force: true });
    },
    // A prepared bundle that never held the container (the migration failed before its restore).
    discard: async () => {
      if (prepared && runc && !await runc.state(id))
        await removeBundle(id);
    }
  };
}

// lib/migrate/destination.js
async function receive(options) {
  if (!options.token)
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, "receive needs a token (--token or FREEZEDRY_TOKEN)");
  const log = options.log ?? (() => {
  });
  const credentials = loadCredentials(options.token, options.tls);
  const migrations = [];
  let server;
  const closed = new Promise((resolve) => {
    server = createServer(secureServerOptions(credentials), (socket) => {
      const refusal = refusedPeer(socket, credentials);
      if (refusal) {
        refuse(socket, refusal);
        return;
      }
      void handle(socket, options, credentials, log).then((migration) => {
        migrations.push(migration);
        if (options.once)
          server.close();
      });
    });
    const refuse = (socket, reason, cause) => {
      const from = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : "a peer that left";
      log(`refused ${from}: ${reason}`);
      migrations.push({ from, mode: "?", error: new FreezedryError(ErrorCode.AUTH_FAILED, `${from}: ${reason}`, { cause }) });
      if (!socket.destroyed) {
        const channel = new MessageChannel(socket);
        channel.send({ type: "refused", code: ErrorCode.AUTH_FAILED, message: `the destination refused this agent: ${reason}` });
        channel.close();
      }
      if (options.once)
        server.close();
    };
    server.on("tlsClientError", (error, socket) => refuse(socket, describeHandshakeFailure(error), error));
    server.on("close", resolve);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  log(`listening on ${address.address}:${address.port}`);
  return {
    address: { host: address.address, port: address.port },
    closed,
    migrations,
    close: async () => {
      server.close();
      await closed;
    }
  };
}
async function handle(socket, options, credentials, log) {
  const from = `${socket.remoteAddress}:${socket.remotePort}`;
  const channel = new MessageChannel(socket, { linkTimeoutMs: options.linkTimeoutMs });
  const migration = { from, mode: "?" };
  let work;
  let container;
  const cleanup = [];
  try {
    try {
      await authenticateSource(channel, options.token);
    } catch (error) {
      log(`refused ${from}: ${error.message}`);
      throw error;
    }
    const hello = await channel.next("hello");
    migration.mode = String(hello.mode);
    const { version: criu, features } = await versionAndFeatures();
    container = hello.container ? await containerLanding(hello.container, options) : void 0;
    const lazyPages = features?.lazyPages === true;
    const gap = compatibilityGaps(hello.source, criu);
    const veths = (hello.network?.veths ?? []).filter((name) => /^[\w.-]{1,15}$/.test(name));
    const reasons = [
      gap.arch,
      gap.missingCpuFlags.length ? `this CPU lacks ${gap.missingCpuFlags.join(", ")}` : void 0,
      gap.criu,
      hello.criuOptions?.networkLock === "nftables" && !canLockWithNftables(criu.path) ? `the source locks the network with nftables, and this CRIU (${criu.path}) was built without libnftables` : void 0,
      hello.mode !== "stop-copy" && hello.mode !== "auto" && !(hello.mode === "pre-copy" && hello.tracking === "soft-dirty") && !lazyPages ? `${String(hello.mode)} needs lazy restore, which this host cannot do (userfaultfd, CRIU's lazy pages: see 'freezedry check')` : void 0,
      veths.length > 0 && !options.bridge ? `the tree's network namespace has veth ${veths.join(", ")}: start receive with a bridge to plug it into (--bridge)` : void 0,
      ...container?.refusals ?? []
    ].filter(Boolean);
    if (reasons.length > 0) {
      channel.send({ type: "incompatible", code: ErrorCode.INCOMPATIBLE_HOST, message: reasons.join("; ") });
      throw new FreezedryError(ErrorCode.INCOMPATIBLE_HOST, `refused ${from}: ${reasons.join("; ")}`);
    }
    if (veths.length > 0 && options.bridge) {
      pinBridgeAddress(options.bridge);
    }
    channel.send({ type: "welcome", criuVersion: criu.text, lazyPages });
    warmUpImageDecoders();
    log(`${from}: ${migration.mode} migration authenticated`);
    work = await mkdtemp2(path9.join(options.workDir ?? os3.tmpdir(), "freezedry-incoming-"));
    const criuOptions = {
      ...migrationCriuOptions(hello.criuOptions),
      // veth[inside]:outside@bridge: CRIU re-creates the pair and puts the outer end on the bridge.
      external: veths.map((name) => `veth[${name}]:fz${randomBytes4(4).toString("hex")}@${options.bridge}`)
    };
    const landing = container ?? processLanding(criuOptions);
    let mode = String(hello.mode);
    if (mode === "auto") {
      const probe = await channel.next("probe");
      await channel.receiveBytes(probe.size);
      channel.send({ type: "probe-ok" });
      mode = String((await channel.next("mode")).mode);
      migration.mode = mode;
    }
    const reception = {
      channel,
      landing,
      work,
      from,
      sourceAddress: socket.remoteAddress?.replace(/^::ffff:/, "") ?? "",
      options,
      credentials,
      migration,
      log,
      cleanup
    };
    if (mode === "stop-copy")
      await receiveStopCopy(reception);
    else if (mode === "pre-copy" && hello.tracking === "soft-dirty")
      await receivePreDumps(reception);
    else if (mode === "post-copy" || mode === "pre-copy" || mode === "hybrid")
      await receiveLazily(reception);
    else
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `unknown mode '${mode}'`);
  } catch (error) {
    migration.error = isFreezedryError(error) ? error : new FreezedryError(ErrorCode.MIGRATION_FAILED, error.message, { cause: error });
    log(`${from}: failed: ${migration.error.code}: ${migration.error.message}`);
    try {
      channel.send({ type: "failed", code: migration.error.code, message: migration.error.message });
    } catch {
    }
  } finally {
    for (const close of cleanup)
      close();
    if (migration.error)
      await container?.discard?.().catch(() => {
      });
    channel.close();
    if (work)
      await rm5(work, { recursive: true, force: true });
  }
  return migration;
}
function processLanding(criuOptions) {
  return {
    restoreWhole: (where, signal) => restore({ ...where, ...criuOptions, onNotification: abortIfAgentDies, signal }),
    restoreLazy: async (top, remote, signal) => {
      const restored = await restore({ ...criuOptions, onNotification: abortIfAgentDies, signal, imagesDir: path9.join(top, "checkpoint"), lazy: true, ...remote });
      return { ...restored, fill: restored.lazy?.fill };
    },
    end: async (pid) => signalEach(processTree(pid).reverse(), "SIGKILL")
  };
}
async function restoreWhole({ channel, landing, from, migration, log }, where) {
  log(`${from}: restoring`);
  const restored = await landing.restoreWhole(where, sourceGone(channel));
  migration.pid = restored.pid;
  channel.send({ type: "restored", pid: restored.pid, durationMs: restored.durationMs });
  log(`${from}: restored as pid ${restored.pid}`);
  await channel.next("done");
}
async function receiveStopCopy(reception) {
  const offer = await reception.channel.next("archive");
  const file = path9.join(reception.work, "checkpoint.tar.zst");
  await reception.channel.receiveFile(offer.size, file);
  await restoreWhole(reception, { archive: file });
}
async function receivePreDumps(reception) {
  const { channel } = reception;
  const chain = new ImageChain(path9.join(reception.work, "pre-dumps"));
  for (; ; ) {
    const message = await channel.next("image-file", "round-end", "dumped");
    if (message.type === "dumped")
      break;
    if (message.type === "round-end")
      channel.send({ type: "round-ok", round: message.round });
    else
      await chain.receive(channel, message);
  }
  if (!chain.last?.endsWith("final"))
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, "the source froze the tree but sent no final images");
  await restoreWhole(reception, { imagesDir: chain.last });
}
async function receiveLazily({ channel, landing, work, from, sourceAddress, options, credentials, migration, log, cleanup }) {
  const store = new PageStore(work);
  cleanup.push(() => store.close());
  const top = path9.join(work, "lazy");
  const imagesDir = path9.join(top, "checkpoint");
  let offer = await receivePages(channel, store);
  if (offer.type === "container-files") {
    if (!landing.receiveFiles)
      throw new FreezedryError(ErrorCode.MIGRATION_FAILED, "container files from the source of a process tree");
    await landing.receiveFiles(channel, offer, top);
    offer = await channel.next("images");
  }
  const bytes = await channel.receiveBytes(offer.size);
  await unbundleImages(offer.files, bytes, imagesDir);
  channel.send({ type: "images-ok" });
  const serve = await channel.next("serve");
  let routed;
  const preCopied = store.bytes > 0 ? { file: store.file, route: (plan) => routed = store.route(plan) } : void 0;
  log(`${from}: restoring`);
  const tunnel = await openPageTunnel({
    host: sourceAddress,
    port: validPort(serve.port),
    credentials,
    timeoutMs: options.linkTimeoutMs ?? LINK_TIMEOUT_MS,
    log: (line) => log(`${from}: ${line}`)
  });
  cleanup.push(() => tunnel.close());
  const pageServer = { address: "127.0.0.1", port: tunnel.port, ticket: pageTicket(serve.ticket) };
  const restored = await landing.restoreLazy(top, { pageServer, preCopied }, sourceGone(channel));
  migration.pid = restored.pid;
  channel.send({ type: "restored", pid: restored.pid, durationMs: restored.durationMs });
  log(`${from}: running as pid ${restored.pid}, ${routed ? `${routed.localPages} pages here, pulling ${routed.remotePages}` : "pulling its memory"}`);
  channel.linkTimeoutMs = (options.linkTimeoutMs ?? LINK_TIMEOUT_MS) / 2;
  const lost = new Promise((_, reject) => channel.onLost(reject));
  lost.catch(() => {
  });
  const fill = await Promise.race([restored.fill, lost]).catch(async (error) => {
    await landing.end(restored.pid);
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `lost the source while pulling memory (${error.message}); the tree here was ended`, { cause: error });
  });
  channel.send({ type: "filled", pages: fill?.pagesCopied, pulled: routed ? routed.remotePages : fill?.pagesCopied, faults: fill?.faults });
  log(`${from}: memory complete (${fill?.pagesCopied} pages)`);
  await channel.next("done").catch((error) => log(`${from}: no goodbye from the source (${error.message}); the tree runs here`));
}
async function receivePages(channel, store) {
  for (; ; ) {
    const message = await channel.next("pages", "stale", "round-end", "images", "container-files");
    if (message.type === "images" || message.type === "container-files")
      return message;
    if (message.type === "round-end") {
      channel.send({ type: "round-ok", round: message.round });
    } else if (message.type === "stale") {
      store.drop(Number(message.pid), validPageRanges(message.ranges));
    } else {
      const frame = await channel.receiveBytes(message.size);
      const data = await native().decompress(frame);
      if (data.length !== Number(message.raw)) {
        throw new FreezedryError(ErrorCode.MIGRATION_FAILED, `pages message of ${data.length} bytes, announced ${String(message.raw)}`);
      }
      store.write(Number(message.pid), validPageRanges(message.ranges), data);
    }
  }
}
function validPageRanges(flat) {
  if (!Array.isArray(flat) || flat.length % 2 !== 0 || !flat.every((n) => Number.isSafeInteger(n) && n >= 0 && n % PAGE_SIZE === 0)) {
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, "malformed page ranges from the source");
  }
  return fromFlat(flat);
}
var abortIfAgentDies = () => {
};
function sourceGone(channel) {
  const controller = new AbortController();
  channel.onLost((error) => controller.abort(error));
  return controller.signal;
}
function validPort(value) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new FreezedryError(ErrorCode.MIGRATION_PROTOCOL, `the source named no valid page-relay port (${JSON.stringify(value)})`);
  }
  return value;
}
function pageTicket(value) {
  const ticket = typeof value === "string" ? Buffer.from(value, "base64") : Buffer.alloc(0);
  if (ticket.length !== TICKET_BYTES)
    throw new FreezedryError(ErrorCode.MIGRATION_FAILED, "the source sent no valid page-server ticket");
  return ticket;
}

export {
  runContainer,
  listContainers,
  removeContainer,
  restoreContainer,
  checkpointContainer,
  migrateContainer,
  receive
};
