// A client holding one keep-alive TCP connection to the demo state service: it POSTs
// /increment every 10 ms until its stdin closes, then prints one JSON line: how many requests
// were answered, the longest gap between answers, whether every answer continued the counter,
// and any connection error. Runs inside a test host (node keepalive-client.mjs HOST PORT); the
// migration tests and the migrate benchmark use it as the client whose downtime counts.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const [host, port] = process.argv.slice(2);
const socket = net.connect(Number(port), host);
socket.setNoDelay(true);
let buffered = '';
let answer;
let error = null;
socket.on('data', (chunk) => {
  buffered += chunk.toString();
  const head = buffered.indexOf('\r\n\r\n');
  if (head < 0) return;
  const length = Number(/content-length:\s*(\d+)/i.exec(buffered.slice(0, head))?.[1] ?? 0);
  if (buffered.length < head + 4 + length) return;
  const body = buffered.slice(head + 4, head + 4 + length);
  buffered = buffered.slice(head + 4 + length);
  answer?.(body);
});
socket.on('error', (e) => {
  error = e.message;
  finish(1);
});
socket.on('close', () => {
  error ??= 'connection closed by the service';
  finish(1);
});

let stopping = false;
process.stdin.on('end', () => (stopping = true));
process.stdin.resume();

const stats = { requests: 0, longestGapMs: 0, continuous: true, firstCounter: -1, lastCounter: -1 };
function finish(code) {
  process.stdout.write(`${JSON.stringify({ ...stats, error })}\n`);
  process.exit(code);
}

let last = performance.now();
for (;;) {
  const body = await new Promise((resolve) => {
    answer = resolve;
    socket.write(`POST /increment HTTP/1.1\r\nHost: service\r\n\r\n`);
  });
  const now = performance.now();
  if (stats.requests > 0) stats.longestGapMs = Math.max(stats.longestGapMs, now - last);
  last = now;
  const { counter } = JSON.parse(body);
  if (stats.lastCounter >= 0 && counter !== stats.lastCounter + 1) stats.continuous = false;
  if (stats.firstCounter < 0) {
    stats.firstCounter = counter;
    process.stderr.write('READY\n');
  }
  stats.lastCounter = counter;
  stats.requests++;
  if (stopping) finish(0);
  await sleep(10);
}
