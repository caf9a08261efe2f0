// A stateful HTTP service to checkpoint: it holds N MiB of memory (part random, part text, part
// zeros, like a real heap) and a counter, and reports a checksum of both, so a restore can be
// proven to bring back exactly what was there.
//   node lib/demo/state-service.js --port 8080 [--mb 100] [--host 127.0.0.1]
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    mb: { type: 'string', default: '64' },
  },
});
const megabytes = Number(values.mb);
// In pieces of at most 1 GiB: one Buffer cannot exceed 4 GiB (the benchmarks reach 8).
const PIECE = 1 << 30;
const total = megabytes * 1024 * 1024;
const state: Buffer[] = [];
for (let left = total; left > 0; left -= PIECE) state.push(Buffer.alloc(Math.min(left, PIECE)));

/** Calls fill(piece, from, to) for the part of each piece within the bytes [start, end) of the whole state. */
function eachPiece(start: number, end: number, fill: (piece: Buffer, from: number, to: number) => void): void {
  for (let p = Math.floor(start / PIECE); p * PIECE < end; p++) {
    const piece = state[p] as Buffer;
    const from = Math.max(start - p * PIECE, 0);
    const to = Math.min(end - p * PIECE, piece.length);
    fill(piece, from, to);
  }
}

// A third pseudo-random (incompressible), a third text, a third left zero.
let seed = 0x9e3779b9;
const third = Math.floor(total / 12) * 4; // whole words (bitwise operators would cut the size to 32 bits)
eachPiece(0, third, (piece, from, to) => {
  for (let i = from; i + 4 <= to; i += 4) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    piece.writeUInt32LE(seed >>> 0, i);
  }
});
const text = Buffer.from('freezedry keeps the state of a running service across a checkpoint. ');
eachPiece(third, 2 * third, (piece, from, to) => {
  for (let i = from; i < to; i += text.length) text.copy(piece, i, 0, Math.min(text.length, to - i));
});

let counter = 0;
const startedAt = new Date().toISOString();

function checksum(): string {
  const hash = createHash('sha256');
  for (const piece of state) hash.update(piece);
  return hash.update(String(counter)).digest('hex');
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://service');
  if (req.method === 'POST' && url.pathname === '/increment') {
    counter += Number(url.searchParams.get('by') ?? 1);
    // Touch the state too, so the checksum proves memory writes survive.
    const at = counter % total;
    const piece = state[Math.floor(at / PIECE)] as Buffer;
    piece[at % PIECE] = ((piece[at % PIECE] as number) + 1) & 0xff;
  } else if (url.pathname === '/ping') {
    // A cheap answer that touches little memory: how soon a restored service responds.
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pid: process.pid, counter }));
    return;
  } else if (url.pathname !== '/state') {
    res.writeHead(404).end();
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, counter, megabytes, checksum: checksum(), startedAt }));
});
server.keepAliveTimeout = 0; // idle keep-alive connections stay open (tests hold one across a dump)
server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : values.port}`);
});
