import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  checkpointContainer,
  listContainers,
  migrateContainer,
  receive,
  removeContainer,
  restoreContainer,
  runContainer
} from "./chunk-QYF6HQYN.js";
import {
  migrate
} from "./chunk-LPFNCLHK.js";
import {
  acceptSnapshotRequests,
  afterRestore,
  beforeSnapshot,
  requestSnapshot,
  snapshot
} from "./chunk-BM3FRO5D.js";
import {
  check
} from "./chunk-UGUPRV2R.js";
import {
  DirtyTracker
} from "./chunk-LO46G7W2.js";
import "./chunk-XER4CFBU.js";
import {
  checkpoint
} from "./chunk-LYAUOJZ5.js";
import "./chunk-2QMALM3A.js";
import {
  restore
} from "./chunk-WYHYPIIF.js";
import "./chunk-6SZ63I6Z.js";
import "./chunk-BHCII4OU.js";
import "./chunk-OFDVBURY.js";
import {
  listCheckpoints,
  removeCheckpoint,
  storeRoot
} from "./chunk-LJEMCCOU.js";
import {
  run
} from "./chunk-S5IFGFNL.js";
import "./chunk-MRR2X73E.js";
import {
  exportArchive,
  importArchive
} from "./chunk-QQVTIQRB.js";
import "./chunk-ZVYR6UP2.js";
import {
  features,
  version
} from "./chunk-SREGTA7H.js";
import "./chunk-CJKMJKBO.js";
import {
  inspect
} from "./chunk-I67NPRIR.js";
import "./chunk-ZYG2T3UV.js";
import "./chunk-4LSSWRP7.js";
import "./chunk-F3SPZOCF.js";
import "./chunk-Y4SUBUAX.js";
import "./chunk-LZLFL3JA.js";
import {
  Archive
} from "./chunk-PTYGFORS.js";
import "./chunk-GUIDA3SS.js";
import {
  CriuError,
  ErrorCode,
  FreezedryError,
  ValidationError,
  isFreezedryError
} from "./chunk-KX5PMG5M.js";
export {
  Archive,
  CriuError,
  DirtyTracker,
  ErrorCode,
  FreezedryError,
  ValidationError,
  acceptSnapshotRequests,
  afterRestore,
  beforeSnapshot,
  check,
  checkpoint,
  checkpointContainer,
  exportArchive,
  features,
  importArchive,
  inspect,
  isFreezedryError,
  listCheckpoints,
  listContainers,
  migrate,
  migrateContainer,
  receive,
  removeCheckpoint,
  removeContainer,
  requestSnapshot,
  restore,
  restoreContainer,
  run,
  runContainer,
  snapshot,
  storeRoot,
  version
};
