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
const state = Buffer.alloc(megabytes * 1024 * 1024);

// A third pseudo-random (incompressible), a third text, a third left zero.
let seed = 0x9e3779b9;
const third = Math.floor(state.length / 3);
for (let i = 0; i < third; i += 4) {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  state.writeUInt32LE(seed >>> 0, i);
}
const text = Buffer.from('freezedry keeps the state of a running service across a checkpoint. ');
for (let i = third; i < 2 * third; i += text.length) text.copy(state, i, 0, Math.min(text.length, 2 * third - i));

let counter = 0;
const startedAt = new Date().toISOString();

function checksum(): string {
  return createHash('sha256').update(state).update(String(counter)).digest('hex');
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://service');
  if (req.method === 'POST' && url.pathname === '/increment') {
    counter += Number(url.searchParams.get('by') ?? 1);
    // Touch the state too, so the checksum proves memory writes survive.
    state[counter % state.length] = (state[counter % state.length]! + 1) & 0xff;
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
