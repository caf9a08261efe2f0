import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  DEFAULT_STORE,
  findStored,
  listCheckpoints,
  newStoreEntry,
  removeCheckpoint,
  storePath,
  storeRoot
} from "./chunk-LJEMCCOU.js";
import "./chunk-PTYGFORS.js";
import "./chunk-GUIDA3SS.js";
import "./chunk-KX5PMG5M.js";
export {
  DEFAULT_STORE,
  findStored,
  listCheckpoints,
  newStoreEntry,
  removeCheckpoint,
  storePath,
  storeRoot
};
