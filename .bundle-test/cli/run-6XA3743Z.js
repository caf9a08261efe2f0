import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  run
} from "./chunk-S5IFGFNL.js";
import "./chunk-MRR2X73E.js";
import "./chunk-KX5PMG5M.js";
export {
  run
};
