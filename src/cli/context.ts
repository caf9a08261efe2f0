// What every command gets: where its output goes, the signal of Ctrl-C, and its exit code.
import type { Output } from './output.js';

export interface Context {
  out: Output;
  signal: AbortSignal;
  exitCode: number;
}
