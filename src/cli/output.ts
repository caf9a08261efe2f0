// How commands speak: human lines on a terminal, one JSON document with --json.
import { ErrorCode, isFreezedryError } from '../errors.js';

export interface Output {
  json: boolean;
  /** A result: JSON document, or the human text. */
  result(value: unknown, human: string): void;
  /** Progress and notes for people, on stderr (silent with --json). */
  note(text: string): void;
}

export function makeOutput(json: boolean): Output {
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
    },
    note(text) {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}

export function printError(error: unknown, json: boolean, verbose: boolean): void {
  const info = isFreezedryError(error)
    ? { code: error.code, message: error.message, logFile: error.logFile, criuErrors: error.criuErrors, ...error.details }
    : { code: ErrorCode.INTERNAL, message: error instanceof Error ? error.message : String(error) };
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: info }, null, 2)}\n`);
    return;
  }
  process.stderr.write(`freezedry: ${info.code}: ${info.message}\n`);
  if (verbose && error instanceof Error) {
    process.stderr.write(`${error.stack}\n`);
    if (error.cause) process.stderr.write(`caused by: ${(error.cause as Error).stack ?? String(error.cause)}\n`);
  }
}

export const ms = (value: number | undefined) => (value === undefined ? '-' : `${value.toFixed(1)} ms`);
