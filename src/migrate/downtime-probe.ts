// Downtime as a client sees it: during a migration, the source agent asks the service an HTTP
// GET over one keep-alive connection every few milliseconds, and reports the longest gap between
// two answers. A request lost while the tree is frozen is resent by TCP (its retransmission
// timer, ~200 ms then doubling), so this is often longer than the freeze itself.
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';
import { httpModule } from './deferred-modules.js';

export interface ProbeReport {
  url: string;
  /** Answers received. */
  answers: number;
  /** The longest time between two answers (or from the start to the first), ms. */
  longestGapMs: number;
  /** Connections opened after the first: each means the service dropped or reset one. */
  reconnects: number;
  /** The last request error, if any (an answer may have come after it). */
  lastError?: string;
}

export interface Probe {
  /** Resolves at the first answer; fails if none comes within FIRST_ANSWER_MS. */
  answering(): Promise<void>;
  /** Waits for one more answer (the one that ends a gap still open, up to LAST_ANSWER_MS), then stops. */
  stop(waitForAnswer?: boolean): Promise<ProbeReport>;
}

const INTERVAL_MS = 10;
/** A request unanswered this long is abandoned and sent again on a new connection. */
const REQUEST_TIMEOUT_MS = 30_000;
const FIRST_ANSWER_MS = 5_000;
const LAST_ANSWER_MS = 10_000;

export function validateProbeUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `probe must be an http:// URL, got '${url}'`);
  }
  if (parsed.protocol !== 'http:') throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `probe must be an http:// URL, got '${url}'`);
  return parsed;
}

export function startProbe(url: string): Probe {
  const target = validateProbeUrl(url);
  const http = httpModule();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const report: ProbeReport = { url, answers: 0, longestGapMs: 0, reconnects: 0 };
  const seen = new WeakSet<Socket>();
  let stopping = false;
  let current: ClientRequest | undefined;
  let last = performance.now();
  let answered: (() => void) | undefined;

  const ask = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.get(target, { agent, timeout: REQUEST_TIMEOUT_MS }, (response) => {
        response.resume(); // the body does not matter, only that an answer came
        response.on('end', resolve);
        response.on('error', reject);
      });
      current = request;
      request.on('socket', (socket) => {
        if (seen.has(socket)) return;
        if (report.answers > 0 || report.lastError) report.reconnects++;
        seen.add(socket);
        socket.setNoDelay(true);
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      request.on('error', reject);
    });

  const running = (async () => {
    while (!stopping) {
      try {
        await ask();
        const now = performance.now();
        report.longestGapMs = Math.max(report.longestGapMs, now - last);
        last = now;
        report.answers++;
        answered?.();
      } catch (error) {
        if (!stopping) report.lastError = (error as Error).message;
      }
      await sleep(INTERVAL_MS);
    }
  })();

  const nextAnswer = (withinMs: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), withinMs);
      answered = () => {
        clearTimeout(timer);
        answered = undefined;
        resolve(true);
      };
    });
  let stopped: Promise<ProbeReport> | undefined;

  return {
    async answering() {
      if (report.answers > 0 || (await nextAnswer(FIRST_ANSWER_MS))) return;
      await this.stop(false);
      throw new FreezedryError(
        ErrorCode.INVALID_ARG_VALUE,
        `the probe got no answer from ${url} within ${FIRST_ANSWER_MS} ms${report.lastError ? ` (${report.lastError})` : ''}`,
      );
    },
    stop(waitForAnswer = true) {
      stopped ??= finish(waitForAnswer);
      return stopped;
    },
  };

  async function finish(waitForAnswer: boolean): Promise<ProbeReport> {
    if (waitForAnswer) await nextAnswer(LAST_ANSWER_MS);
    stopping = true;
    current?.destroy(); // a request still unanswered ends with the probe
    await running;
    agent.destroy();
    return report;
  }
}
