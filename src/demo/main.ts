// The demo: a live Node service holding state is started through run(), checkpointed, killed,
// restored, and proven to answer with exactly the state it had.
//   node lib/demo/main.js [--mb 256] [--keep]
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { check, checkpoint, restore, run } from '../index.js';
import { isFreezedryError } from '../errors.js';
import { waitUntilGone } from '../process/proc.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '256' }, keep: { type: 'boolean', default: false } } });
const megabytes = Number(values.mb);
const service = fileURLToPath(new URL('./state-service.js', import.meta.url));

interface State {
  counter: number;
  checksum: string;
}

// One request per connection, closed by the server, so no client socket is left in the dump.
function request(port: number, method: string, pathname: string): Promise<State> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as State);
      } catch (error) {
        reject(error);
      }
    });
    socket.write(`${method} ${pathname} HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n`);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(path.join(dir, name))).size;
  return total;
}

const ms = (value: number) => `${value.toFixed(0)} ms`;
const say = (text: string) => console.log(text);

async function main(): Promise<number> {
  const report = await check();
  if (!report.ok) {
    for (const item of report.items.filter((i) => i.status === 'fail')) say(`✗ ${item.title}: ${item.detail}\n  fix: ${item.fix}`);
    return 1;
  }
  say(`freezedry demo: CRIU ${report.criu?.version} at ${report.criu?.path}\n`);

  const work = await mkdtemp(path.join(os.tmpdir(), 'freezedry-demo-'));
  const imagesDir = path.join(work, 'images');
  const port = await freePort();
  const started = await run([process.execPath, service, '--port', String(port), '--mb', String(megabytes)], {
    logFile: path.join(work, 'service.log'),
  });
  say(`1. started a Node service holding ${megabytes} MiB of state: pid ${started.pid}, http://127.0.0.1:${port}`);
  for (let i = 0; i < 50; i++) {
    try {
      await request(port, 'GET', '/state');
      break;
    } catch {
      await sleep(100);
    }
  }
  await request(port, 'POST', '/increment?by=41');
  const before = await request(port, 'POST', '/increment');
  say(`   its state: counter ${before.counter}, checksum ${before.checksum.slice(0, 16)}…`);

  const dumped = await checkpoint(started.pid, { imagesDir, leaveRunning: true });
  const s = dumped.stats;
  say(`2. checkpointed it in ${ms(dumped.durationMs)} (frozen ${ms(s?.frozenTimeMs ?? 0)}, ` +
      `${s?.pagesWritten ?? 0} pages, ${((await dirSize(imagesDir)) / 2 ** 20).toFixed(0)} MiB of images in ${imagesDir})`);

  process.kill(started.pid, 'SIGKILL');
  await waitUntilGone([started.pid], 10_000);
  const dead = await request(port, 'GET', '/state').then(() => false, () => true);
  say(`3. killed it: pid ${started.pid} is gone${dead ? ' and the port refuses connections' : ''}`);

  const restored = await restore({ imagesDir });
  say(`4. restored it in ${ms(restored.durationMs)} (CRIU restore ${ms(restored.stats?.restoreTimeMs ?? 0)}): pid ${restored.pid}`);

  const after = await request(port, 'GET', '/state');
  const same = after.counter === before.counter && after.checksum === before.checksum;
  say(`5. it answers on the same port: counter ${after.counter}, checksum ${after.checksum.slice(0, 16)}…`);
  say(same ? '\n✓ state intact: the restored service holds exactly what it held before.' : '\n✗ state differs after restore!');
  const next = await request(port, 'POST', '/increment');
  say(`  and it keeps working: counter now ${next.counter}`);

  process.kill(restored.pid, 'SIGKILL');
  if (values.keep) say(`images kept in ${imagesDir}`);
  else await rm(work, { recursive: true, force: true });
  return same ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(isFreezedryError(error) ? `✗ ${error.code}: ${error.message}` : error);
    process.exit(1);
  },
);
