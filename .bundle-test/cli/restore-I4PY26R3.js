import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import "./chunk-2QMALM3A.js";
import {
  restore
} from "./chunk-WYHYPIIF.js";
import "./chunk-6SZ63I6Z.js";
import "./chunk-BHCII4OU.js";
import "./chunk-OFDVBURY.js";
import "./chunk-LJEMCCOU.js";
import "./chunk-MRR2X73E.js";
import "./chunk-SREGTA7H.js";
import "./chunk-CJKMJKBO.js";
import "./chunk-F3SPZOCF.js";
import "./chunk-Y4SUBUAX.js";
import "./chunk-LZLFL3JA.js";
import "./chunk-PTYGFORS.js";
import "./chunk-GUIDA3SS.js";
import "./chunk-KX5PMG5M.js";
export {
  restore
};
