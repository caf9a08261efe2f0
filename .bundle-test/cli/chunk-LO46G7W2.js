import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  validatePid
} from "./chunk-OFDVBURY.js";
import {
  assertRoot,
  isAlive
} from "./chunk-MRR2X73E.js";
import {
  native,
  trackerAttachError
} from "./chunk-GUIDA3SS.js";
import {
  ErrorCode,
  FreezedryError
} from "./chunk-KX5PMG5M.js";

// lib/pages/page-ranges.js
function fromFlat(flat) {
  const ranges = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    ranges.push([flat[i], flat[i + 1]]);
  return ranges;
}
function normalize(ranges) {
  const sorted = [...ranges].filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out = [];
  for (const [start, end] of sorted) {
    const last = out.at(-1);
    if (last && start <= last[1])
      last[1] = Math.max(last[1], end);
    else
      out.push([start, end]);
  }
  return out;
}
function union(a, b) {
  return normalize([...a, ...b]);
}
function intersect(a, b) {
  const out = [];
  let j = 0;
  for (const [start, end] of a) {
    while (j < b.length && b[j][1] <= start)
      j++;
    for (let k = j; k < b.length && b[k][0] < end; k++) {
      const [bs, be] = b[k];
      out.push([Math.max(start, bs), Math.min(end, be)]);
    }
  }
  return out;
}
function subtract(a, b) {
  const out = [];
  let j = 0;
  for (const [start, end] of a) {
    let at = start;
    while (j < b.length && b[j][1] <= at)
      j++;
    for (let k = j; k < b.length && b[k][0] < end; k++) {
      const [bs, be] = b[k];
      if (bs > at)
        out.push([at, bs]);
      at = Math.max(at, be);
    }
    if (at < end)
      out.push([at, end]);
  }
  return out;
}
function totalBytes(ranges) {
  return ranges.reduce((sum, [s, e]) => sum + (e - s), 0);
}
function* batches(ranges, limit) {
  let batch = [];
  let size = 0;
  for (const range of ranges) {
    const end = range[1];
    let start = range[0];
    while (start < end) {
      const take = Math.min(end - start, limit - size);
      batch.push([start, start + take]);
      size += take;
      start += take;
      if (size >= limit) {
        yield batch;
        batch = [];
        size = 0;
      }
    }
  }
  if (batch.length > 0)
    yield batch;
}

// lib/pages/dirty-tracker.js
import { spawn } from "node:child_process";
var DirtyTracker = class _DirtyTracker {
  tracker;
  constructor(tracker) {
    this.tracker = tracker;
  }
  /** Starts tracking the private anonymous memory of `pid`: from now on, every page is clean. */
  static attach(pid) {
    validatePid(pid);
    assertRoot("dirty tracking");
    if (!isAlive(pid))
      throw new FreezedryError(ErrorCode.NO_SUCH_PROCESS, `No process with pid ${pid}`, { pid });
    try {
      return new _DirtyTracker(new (native()).DirtyTracker(pid));
    } catch (cause) {
      throw trackerAttachError(pid, cause);
    }
  }
  get trackedBytes() {
    return this.tracker.trackedBytes;
  }
  /** The ranges written since attach or the last scan; they count as clean again afterwards. */
  scan() {
    return fromFlat(this.tracker.scan());
  }
  /** The tracked pages that hold data now (present or swapped out). */
  present() {
    return fromFlat(this.tracker.present());
  }
  /** The areas still under tracking (an area unmapped and mapped again drops out at a scan). */
  areas() {
    return fromFlat(this.tracker.areas());
  }
  close() {
    this.tracker.close();
  }
};
async function probeDirtyTracking() {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    await new Promise((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    DirtyTracker.attach(child.pid).close();
    return { works: true };
  } catch (error) {
    return { works: false, reason: error.message };
  } finally {
    child.kill("SIGKILL");
  }
}

export {
  fromFlat,
  normalize,
  union,
  intersect,
  subtract,
  totalBytes,
  batches,
  DirtyTracker,
  probeDirtyTracking
};
