import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  exportArchive,
  importArchive
} from "./chunk-QQVTIQRB.js";
import "./chunk-ZVYR6UP2.js";
import "./chunk-SREGTA7H.js";
import "./chunk-CJKMJKBO.js";
import "./chunk-4LSSWRP7.js";
import "./chunk-F3SPZOCF.js";
import "./chunk-Y4SUBUAX.js";
import "./chunk-LZLFL3JA.js";
import "./chunk-PTYGFORS.js";
import "./chunk-GUIDA3SS.js";
import "./chunk-KX5PMG5M.js";
export {
  exportArchive,
  importArchive
};
