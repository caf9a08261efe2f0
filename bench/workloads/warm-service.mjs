// A Node service whose warm-up takes seconds: it imports a large generated module graph
// (GRAPH, an .mjs that imports every module) and parses a large JSON file (DATA) into an
// index, then answers GET / with a checksum of that state. With SNAPSHOT_DIR it snapshots
// itself once warm (closing its listener around it) and keeps serving.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

const graph = await import(process.env.GRAPH);
const records = JSON.parse(readFileSync(process.env.DATA, 'utf8'));
const index = new Map(records.map((record) => [record.id, record]));
const computed = graph.run(index.size);
const checksum = createHash('sha256').update(`${index.size}:${computed}:${records[records.length - 1].name}`).digest('hex').slice(0, 16);

let server;
const listen = () =>
  new Promise((resolve) => {
    server = http.createServer((request, response) => response.end(JSON.stringify({ checksum, size: index.size })));
    server.listen(Number(process.env.PORT), '127.0.0.1', resolve);
  });

if (process.env.SNAPSHOT_DIR) {
  const { afterRestore, beforeSnapshot, snapshot } = await import(process.env.FREEZEDRY_LIB);
  beforeSnapshot(() => new Promise((resolve) => server.close(resolve)));
  afterRestore(() => listen());
  await listen();
  const result = await snapshot({ imagesDir: process.env.SNAPSHOT_DIR });
  if (!result.restored) console.log('SNAPSHOT READY');
} else {
  await listen();
}
console.log(`READY ${checksum}`);
