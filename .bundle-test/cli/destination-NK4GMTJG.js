import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  receive
} from "./chunk-QYF6HQYN.js";
import "./chunk-LPFNCLHK.js";
import "./chunk-LO46G7W2.js";
import "./chunk-LYAUOJZ5.js";
import "./chunk-WYHYPIIF.js";
import "./chunk-6SZ63I6Z.js";
import "./chunk-BHCII4OU.js";
import "./chunk-OFDVBURY.js";
import "./chunk-LJEMCCOU.js";
import "./chunk-MRR2X73E.js";
import "./chunk-ZVYR6UP2.js";
import "./chunk-SREGTA7H.js";
import "./chunk-CJKMJKBO.js";
import "./chunk-ZYG2T3UV.js";
import "./chunk-4LSSWRP7.js";
import "./chunk-F3SPZOCF.js";
import "./chunk-Y4SUBUAX.js";
import "./chunk-LZLFL3JA.js";
import "./chunk-PTYGFORS.js";
import "./chunk-GUIDA3SS.js";
import "./chunk-KX5PMG5M.js";
export {
  receive
};
