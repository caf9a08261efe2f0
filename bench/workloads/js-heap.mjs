// A benchmark workload: a Node process whose V8 heap holds about MIB MiB of ordinary JS data
// (records with strings, numbers, arrays and maps, as a service's caches do), for the
// archive's compression of a real heap. It prints READY and waits.
//   node js-heap.mjs MIB
const target = Number(process.argv[2] ?? 64) * 1048576;
const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const records = [];
const byName = new Map();
let id = 0;
while (process.memoryUsage().heapUsed < target) {
  for (let i = 0; i < 10000; i++, id++) {
    const name = `${names[id % names.length]}-${id.toString(36)}`;
    const record = { id, name, email: `${name}@example.com`, score: Math.random() * 1000, tags: [names[(id * 7) % names.length], `group-${id % 97}`], createdAt: new Date(1.7e12 + id * 1000).toISOString() };
    records.push(record);
    byName.set(name, record);
  }
}
console.log(`READY ${records.length} records`);
setInterval(() => {}, 1 << 30);
