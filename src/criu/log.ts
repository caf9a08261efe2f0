// Reading CRIU's log for the lines that explain a failure.
import { readFile } from 'node:fs/promises';

// Lines CRIU logs as errors on every run on some hosts, which never explain a failure.
const HARMLESS = [
  /rlimit: Can't setup RLIMIT_NOFILE/, // root without CAP_SYS_RESOURCE (ENVIRONMENT.md)
];

const ERROR_LINE = /\bError \(/;
// Each line may start with a timestamp (log level 3+) and the pid of the task that logged it.
const LINE_PREFIX = /^(?:\(\s*[\d.]+\)\s*)?(?:\d+:\s*)?/;

/** The error lines of a CRIU log, without timestamps and without known-harmless lines. */
export function errorLines(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => ERROR_LINE.test(line) && !HARMLESS.some((re) => re.test(line)))
    .map((line) => line.trim().replace(LINE_PREFIX, ''));
}

export async function readLog(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** The last non-empty lines of a log, for failures that logged no error line. */
export function tailLines(text: string, count: number): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().replace(LINE_PREFIX, ''))
    .filter(Boolean)
    .slice(-count);
}

/** A one-paragraph explanation: CRIU's first real error lines, and where the whole log is. */
export function describeFailure(lines: string[], logFile: string, fallback: string[] = []): string {
  const shown = lines.length > 0 ? lines.slice(0, 3) : fallback.slice(-3);
  const more = lines.length > 3 ? ` (+${lines.length - 3} more)` : '';
  const body = shown.length > 0 ? shown.join('; ') : 'CRIU logged no error';
  return `${body}${more} [log: ${logFile}]`;
}
