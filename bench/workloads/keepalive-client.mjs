// A client holding one keep-alive TCP connection to a service until its stdin closes, then
// printing one JSON line: how many requests were answered, the longest gap between answers,
// whether every answer continued the service's count (the same state, moved or not), whether
// its memory stayed intact (check), and any connection error. Runs inside a test host:
//   node keepalive-client.mjs HOST PORT [--check]
// http (default): POST /increment every 10 ms to the demo state service or memhog --serve,
//   which answer {"counter":N}, N going up by one per answer;
// --check: "check" every 20 ms to test/fixtures/container-service.c, which answers
//   "ok CHECKSUM-AT-START CHECKSUM-NOW REQUESTS".
// A line "hold" on stdin stops it after its current answer (it says HELD on stderr), "go" goes
// on: a test can keep it quiet while a copy that must not answer it runs elsewhere. A line
// "count" makes it say ANSWERED N on stderr, N the answers so far.
// The migration tests and benchmarks use it as the client whose downtime counts.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const [host, port, protocol] = process.argv.slice(2);
const check = protocol === '--check';
const socket = net.connect(Number(port), host);
socket.setNoDelay(true);
let buffered = '';
let answer;
let error = null;
socket.on('data', (chunk) => {
  buffered += chunk.toString();
  const reply = check ? lineReply() : httpReply();
  if (reply !== undefined) answer?.(reply);
});
socket.on('error', (e) => {
  error = e.message;
  finish(1);
});
socket.on('close', () => {
  error ??= 'connection closed by the service';
  finish(1);
});

/** The body of one whole HTTP answer, or undefined until it is all here. */
function httpReply() {
  const head = buffered.indexOf('\r\n\r\n');
  if (head < 0) return undefined;
  const length = Number(/content-length:\s*(\d+)/i.exec(buffered.slice(0, head))?.[1] ?? 0);
  if (buffered.length < head + 4 + length) return undefined;
  const body = buffered.slice(head + 4, head + 4 + length);
  buffered = buffered.slice(head + 4 + length);
  return body;
}

function lineReply() {
  const end = buffered.indexOf('\n');
  if (end < 0) return undefined;
  const line = buffered.slice(0, end);
  buffered = buffered.slice(end + 1);
  return line;
}

let stopping = false;
let held;
let release;
process.stdin.on('end', () => {
  stopping = true;
  release?.();
});
process.stdin.on('data', (chunk) => {
  for (const line of chunk.toString().split('\n')) {
    if (line === 'hold') held = new Promise((resolve) => (release = resolve));
    if (line === 'go') release?.();
    if (line === 'count') process.stderr.write(`ANSWERED ${stats.requests}\n`);
  }
});

const stats = { requests: 0, longestGapMs: 0, continuous: true, intact: true, firstCounter: -1, lastCounter: -1 };
function finish(code) {
  process.stdout.write(`${JSON.stringify({ ...stats, error })}\n`);
  process.exit(code);
}

let last = performance.now();
for (;;) {
  const reply = await new Promise((resolve) => {
    answer = resolve;
    socket.write(check ? 'check\n' : `POST /increment HTTP/1.1\r\nHost: service\r\n\r\n`);
  });
  const now = performance.now();
  if (stats.requests > 0) stats.longestGapMs = Math.max(stats.longestGapMs, now - last);
  last = now;
  let counter;
  if (check) {
    const [ok, start, current, requests] = reply.split(' ');
    if (ok !== 'ok') {
      error = `unexpected answer '${reply}'`;
      finish(1);
    }
    if (start !== current) stats.intact = false;
    counter = Number(requests);
  } else {
    counter = JSON.parse(reply).counter;
  }
  if (stats.lastCounter >= 0 && counter !== stats.lastCounter + 1) stats.continuous = false;
  if (stats.firstCounter < 0) {
    stats.firstCounter = counter;
    process.stderr.write('READY\n');
  }
  stats.lastCounter = counter;
  stats.requests++;
  if (stopping) finish(0);
  await sleep(check ? 20 : 10);
  if (held) {
    const waiting = held;
    process.stderr.write('HELD\n');
    await waiting;
    if (held === waiting) held = undefined;
    if (stopping) finish(0);
  }
}
