import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  Qn,
  So
} from "./chunk-PTYGFORS.js";
import {
  ErrorCode,
  FreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/container/layout.js
import { readFile } from "node:fs/promises";
import path from "node:path";
var CHECKPOINT_DIR = "checkpoint";
var CHECKPOINT_PREFIX = `${CHECKPOINT_DIR}/`;
var SPEC_DUMP = "spec.dump";
var CONFIG_DUMP = "config.dump";
var CONTAINER_FACTS = "freezedry-container.json";
async function readFacts(dir) {
  try {
    return JSON.parse(await readFile(path.join(dir, CONTAINER_FACTS), "utf8"));
  } catch {
    return void 0;
  }
}

// lib/container/foreign.js
import { mkdir, readFile as readFile2, stat, writeFile as writeFile2 } from "node:fs/promises";
import path3 from "node:path";

// lib/process/command.js
import { execFile } from "node:child_process";
function command(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: "utf8", maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const exitCode = error ? typeof error.code === "number" ? error.code : -1 : 0;
      if (error && options.reject !== false) {
        const said = stderr.trim() || error.message;
        reject(Object.assign(new Error(`${file} ${args.join(" ")} failed (${exitCode === -1 ? String(error.code ?? error.message) : `exit ${exitCode}`}): ${said}`), { exitCode, stderr }));
        return;
      }
      resolve({ stdout, stderr, exitCode });
    });
  });
}

// lib/container/spec.js
var CAPABILITIES = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
var DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
function containerSpec(input) {
  const env = { PATH: DEFAULT_PATH, ...input.env };
  const nofile = Math.min(1024, input.nofileLimit);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: input.args,
      env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      cwd: input.cwd ?? "/",
      capabilities: Object.fromEntries(["bounding", "effective", "permitted", "ambient"].map((set) => [set, CAPABILITIES])),
      rlimits: [{ type: "RLIMIT_NOFILE", hard: nofile, soft: nofile }],
      noNewPrivileges: true
    },
    root: { path: "rootfs", readonly: false },
    hostname: input.hostname,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] }
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: ["pid", "ipc", "uts", "mount", ...input.net ? ["network"] : []].map((type) => ({ type })),
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi"
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    }
  };
}
function networkNamespaceOf(spec) {
  return (spec.linux?.namespaces ?? []).find((ns) => ns.type === "network");
}

// lib/container/rootfs-diff.js
import { createHash } from "node:crypto";
import { lstat, readdir, readlink, rm, writeFile } from "node:fs/promises";
import path2 from "node:path";
var ROOTFS_DIFF = "rootfs-diff.tar";
var DELETED_FILES = "deleted.files";
async function upperChanges(upper, overlay) {
  const changes = { changed: [], deleted: [] };
  const exists = (file) => lstat(file).then(() => true, () => false);
  const walk = async (relative) => {
    const names = (await readdir(path2.join(upper, relative))).sort();
    for (const name of names) {
      const rel = relative ? `${relative}/${name}` : name;
      const info = await lstat(path2.join(upper, rel));
      if (info.isCharacterDevice() && info.rdev === 0) {
        changes.deleted.push(`/${rel}`);
        continue;
      }
      changes.changed.push(rel);
      if (info.isDirectory())
        await walk(rel);
    }
    if (!overlay)
      return;
    const below = await readdir(path2.join(overlay.lower, relative)).catch(() => []);
    for (const name of below) {
      const rel = relative ? `${relative}/${name}` : name;
      if (!names.includes(name) && !await exists(path2.join(overlay.merged, rel)))
        changes.deleted.push(`/${rel}`);
    }
  };
  await walk("");
  changes.deleted.sort();
  return changes;
}
async function writeRootfsDiff(upper, changes, dir) {
  const topLevel = [...new Set(changes.changed.map((rel) => rel.split("/")[0]))];
  await Qn({
    file: path2.join(dir, ROOTFS_DIFF),
    cwd: upper,
    portable: false,
    filter: (_rel, info) => !("isCharacterDevice" in info && info.isCharacterDevice() && info.rdev === 0)
  }, topLevel.length > 0 ? topLevel : []);
  await writeFile(path2.join(dir, DELETED_FILES), `${JSON.stringify(changes.deleted)}
`);
}
async function applyRootfsDiff(rootfs, diff) {
  if (!Array.isArray(diff.deleted) || !diff.deleted.every((p) => typeof p === "string")) {
    throw new FreezedryError(ErrorCode.ARCHIVE_CORRUPT, `${DELETED_FILES} is not a JSON array of paths`);
  }
  for (const deleted of diff.deleted)
    await rm(await insideRoot(rootfs, deleted), { recursive: true, force: true });
  if (diff.tarFile) {
    await So({ file: diff.tarFile, cwd: rootfs, preserveOwner: true, strict: true });
  }
}
async function insideRoot(rootfs, containerPath) {
  const resolved = path2.resolve(rootfs, `.${path2.posix.resolve("/", containerPath)}`);
  const unsafe = () => new FreezedryError(ErrorCode.ARCHIVE_UNSAFE_PATH, `${DELETED_FILES} names '${containerPath}', which leads outside the container's filesystem`);
  if (resolved === rootfs || !resolved.startsWith(`${rootfs}/`))
    throw unsafe();
  let parent = path2.dirname(resolved);
  while (parent !== rootfs) {
    if ((await lstat(parent).catch(() => void 0))?.isSymbolicLink())
      throw unsafe();
    parent = path2.dirname(parent);
  }
  return resolved;
}
async function rootfsFingerprint(dir) {
  const hash = createHash("sha256");
  const walk = async (relative) => {
    for (const name of (await readdir(path2.join(dir, relative))).sort()) {
      const rel = `${relative}/${name}`;
      const info = await lstat(path2.join(dir, rel));
      const link = info.isSymbolicLink() ? await readlink(path2.join(dir, rel)) : "";
      hash.update(`${rel}\0${info.mode}\0${info.isDirectory() ? 0 : info.size}\0${link}
`);
      if (info.isDirectory())
        await walk(rel);
    }
  };
  await walk("");
  return `sha256:${hash.digest("hex")}`;
}

// lib/container/foreign.js
async function unpackForeign(file, dir) {
  const result = await command("tar", ["-xf", file, "-C", dir, "--no-same-owner", "--no-same-permissions", "--no-overwrite-dir"], { reject: false });
  if (result.exitCode !== 0) {
    throw new FreezedryError(ErrorCode.ARCHIVE_FORMAT, `${file} is neither a freezedry archive nor a container checkpoint tar: ${result.stderr.trim().split("\n")[0]}`, {
      path: file
    });
  }
}
async function describeContainerDir(dir) {
  const json = async (name) => readFile2(path3.join(dir, name), "utf8").then((text) => JSON.parse(text), () => void 0);
  const size = async (name) => (await stat(path3.join(dir, name)).catch(() => void 0))?.size ?? 0;
  const deleted = await readFile2(path3.join(dir, DELETED_FILES), "utf8").then((t) => JSON.parse(t).length, () => 0);
  const base = { rootfsDiffBytes: await size(ROOTFS_DIFF), deletedFiles: deleted };
  const ours = await json(CONTAINER_FACTS);
  if (ours)
    return { ...base, engine: "freezedry", id: ours.id, createdAt: ours.createdAt };
  const config = await json(CONFIG_DUMP);
  const spec = await json(SPEC_DUMP);
  const annotations = spec?.annotations ?? {};
  const network = await json("network.status");
  if (config && "rootfsImageName" in config) {
    return {
      ...base,
      engine: "podman",
      id: config.id,
      name: config.name,
      image: config.rootfsImageName ?? config.RawImageName,
      runtime: config.runtime,
      createdAt: config.createdTime,
      network
    };
  }
  if (Object.keys(annotations).some((key) => key.startsWith("io.kubernetes.cri-o."))) {
    return {
      ...base,
      engine: "cri-o",
      id: annotations["io.kubernetes.cri-o.ContainerID"],
      name: annotations["io.kubernetes.cri-o.ContainerName"] ?? annotations["io.kubernetes.container.name"],
      image: annotations["io.kubernetes.cri-o.ImageName"] ?? annotations["io.kubernetes.cri-o.Image"],
      createdAt: annotations["io.kubernetes.cri-o.Created"],
      network
    };
  }
  return { ...base, engine: "unknown", network };
}
async function foreignFacts(dir) {
  const described = await describeContainerDir(dir);
  if (described.engine !== "podman") {
    throw new FreezedryError(ErrorCode.UNSUPPORTED_CHECKPOINT, described.engine === "cri-o" ? `${dir} is a CRI-O (Kubernetes) checkpoint: its spec binds the pod's volumes, secrets and tokens from the kubelet's directories, which only CRI-O can provide; restore it with CRI-O` : `${dir} holds no container checkpoint freezedry knows (no ${CONTAINER_FACTS}, and not Podman's)`, { path: dir, engine: described.engine });
  }
  if (described.runtime && !/(^|\/)runc$/.test(described.runtime)) {
    throw new FreezedryError(ErrorCode.UNSUPPORTED_CHECKPOINT, `${dir} was made by Podman with ${described.runtime}; freezedry restores with runc, so only checkpoints made with --runtime runc`, {
      path: dir
    });
  }
  const spec = JSON.parse(await readFile2(path3.join(dir, SPEC_DUMP), "utf8"));
  const network = networkNamespaceOf(spec);
  return {
    engine: "podman",
    id: described.name ?? described.id,
    createdAt: described.createdAt,
    rootfs: { included: false },
    // A namespace Podman's network made (a path) comes back as one freezedry makes, loopback
    // only; one runc made (--network none) as runc and CRIU make it.
    net: network?.path !== void 0,
    args: spec.process.args,
    criuOptions: { tcpEstablished: false, fileLocks: false },
    rootfsChanges: { changed: described.rootfsDiffBytes > 0 ? 1 : 0, deleted: described.deletedFiles }
  };
}
async function provideEngineMounts(spec, checkpointDir, bundleDir) {
  const mounts = (spec.mounts ?? []).map((m) => ({ ...m }));
  const engineDir = path3.join(bundleDir, "engine");
  let made = 0;
  for (const mount of mounts) {
    const bind = mount.type === "bind" || mount.options?.includes("bind") || mount.options?.includes("rbind");
    if (!bind || !mount.source || await stat(mount.source).catch(() => void 0))
      continue;
    await mkdir(engineDir, { recursive: true });
    const name = path3.basename(mount.destination) || "root";
    const target = path3.join(engineDir, `${made++}-${name}`);
    if (mount.destination === "/dev/shm" || /secrets$/.test(mount.destination)) {
      await mkdir(target, { mode: 1023 });
      const saved = path3.join(checkpointDir, "devshm-checkpoint.tar");
      if (mount.destination === "/dev/shm" && await stat(saved).catch(() => void 0))
        await unpackForeign(saved, target);
    } else {
      const content = mount.destination === "/etc/hostname" ? `${String(spec.hostname ?? "container")}
` : mount.destination === "/etc/hosts" ? `127.0.0.1	localhost
::1	localhost
` : mount.destination === "/etc/resolv.conf" ? await readFile2("/etc/resolv.conf", "utf8").catch(() => "") : "";
      await writeFile2(target, content, { mode: 420 });
    }
    mount.source = target;
  }
  return { ...spec, mounts };
}

export {
  command,
  CHECKPOINT_DIR,
  CHECKPOINT_PREFIX,
  SPEC_DUMP,
  CONTAINER_FACTS,
  readFacts,
  containerSpec,
  networkNamespaceOf,
  ROOTFS_DIFF,
  DELETED_FILES,
  upperChanges,
  writeRootfsDiff,
  applyRootfsDiff,
  rootfsFingerprint,
  unpackForeign,
  describeContainerDir,
  foreignFacts,
  provideEngineMounts
};
