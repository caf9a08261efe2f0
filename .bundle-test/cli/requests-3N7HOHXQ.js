import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  REQUESTS_DIR,
  acceptSnapshotRequests,
  requestSnapshot,
  requestSocket,
  sendReply
} from "./chunk-BM3FRO5D.js";
import "./chunk-BHCII4OU.js";
import "./chunk-OFDVBURY.js";
import "./chunk-LJEMCCOU.js";
import "./chunk-MRR2X73E.js";
import "./chunk-CJKMJKBO.js";
import "./chunk-Y4SUBUAX.js";
import "./chunk-PTYGFORS.js";
import "./chunk-GUIDA3SS.js";
import "./chunk-KX5PMG5M.js";
export {
  REQUESTS_DIR,
  acceptSnapshotRequests,
  requestSnapshot,
  requestSocket,
  sendReply
};
