import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  PIPE_MAX_SIZE_NEEDED,
  check
} from "./chunk-UGUPRV2R.js";
import "./chunk-LO46G7W2.js";
import "./chunk-OFDVBURY.js";
import "./chunk-MRR2X73E.js";
import {
  features,
  version,
  versionAndFeatures
} from "./chunk-SREGTA7H.js";
import "./chunk-CJKMJKBO.js";
import "./chunk-LZLFL3JA.js";
import "./chunk-GUIDA3SS.js";
import "./chunk-KX5PMG5M.js";
export {
  PIPE_MAX_SIZE_NEEDED,
  check,
  features,
  version,
  versionAndFeatures
};
