// Scenario "snapshot": warm starts. A Node service whose warm-up takes seconds (a large module
// graph, a large JSON file parsed into an index) started cold with `node`, against a lazy
// restore of the snapshot it took of itself once warm (`freezedry restore`, a new copy each
// time), and against a V8 start-up snapshot of the same work (`node --snapshot-blob`).
// Timed from the start command until the first correct answer; samples interleaved.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compare, endTree, exec, getOnce, gone, freezedryCommand as cli, packageRoot, servicePort, type BenchOptions, type Measurement, type ScenarioResult } from '../harness.js';

const warmService = path.join(packageRoot, 'bench', 'workloads', 'warm-service.mjs');
const lib = path.join(packageRoot, 'lib', 'index.js');

/** A module graph of `count` modules, each with functions V8 must parse and compile. */
export async function writeModuleGraph(dir: string, count: number): Promise<{ graph: string; bundle: string }> {
  await mkdir(dir, { recursive: true });
  const bodies: string[] = [];
  for (let m = 0; m < count; m++) {
    const functions = Array.from(
      { length: 30 },
      (_, f) =>
        `export function f${f}(x) {\n  let acc = ${m * 31 + f};\n  for (let i = 0; i < 3; i++) {\n    acc = (acc * 33 + x + i) % 1000003;\n    if (acc % 7 === ${f % 7}) acc += ${m};\n  }\n  return acc;\n}`,
    ).join('\n');
    const body = `${functions}\nexport function run(x) { return ${Array.from({ length: 30 }, (_, f) => `f${f}(x)`).join(' + ')}; }\n`;
    bodies.push(body);
    await writeFile(path.join(dir, `m${m}.mjs`), body);
  }
  const graph = path.join(dir, 'graph.mjs');
  const imports = Array.from({ length: count }, (_, m) => `import { run as r${m} } from './m${m}.mjs';`).join('\n');
  await writeFile(graph, `${imports}\nexport function run(x) { let s = 0; ${Array.from({ length: count }, (_, m) => `s = (s + r${m}(x)) % 1000003;`).join(' ')} return s; }\n`);
  // The same code as one script, for V8's start-up snapshot (it takes no module graph).
  const bundle = bodies.map((body, m) => `const m${m} = (() => {\n${body.replaceAll('export function', 'function')}\nreturn { run };\n})();`).join('\n');
  return { graph, bundle: `${bundle}\nfunction runGraph(x) { let s = 0; ${Array.from({ length: count }, (_, m) => `s = (s + m${m}.run(x)) % 1000003;`).join(' ')} return s; }\n` };
}

/** A JSON array of about `megabytes` MB of records. */
export async function writeData(file: string, megabytes: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('[');
  let written = 1;
  for (let id = 0; written < megabytes * 1e6; id++) {
    const record = JSON.stringify({ id, name: `record-${id}-${(id * 2654435761) % 4294967296}`, tags: ['alpha', 'beta', String(id % 97)], value: id * 0.5 });
    const chunk = id === 0 ? record : `,${record}`;
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.write(']');
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

/** The V8 start-up snapshot's entry: the warm-up runs while the blob is built. */
function v8Entry(bundle: string, data: string): string {
  return `${bundle}
const { readFileSync } = require('node:fs');
const v8 = require('node:v8');
const records = JSON.parse(readFileSync(${JSON.stringify(data)}, 'utf8'));
const index = new Map(records.map((record) => [record.id, record]));
const computed = runGraph(index.size);
const last = records[records.length - 1].name;
v8.startupSnapshot.setDeserializeMainFunction(() => {
  const checksum = require('node:crypto').createHash('sha256').update(index.size + ':' + computed + ':' + last).digest('hex').slice(0, 16);
  require('node:http').createServer((request, response) => response.end(JSON.stringify({ checksum, size: index.size })))
    .listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY ' + checksum));
});
`;
}

/** The checksum the service answers with, or undefined (not listening yet, or no answer). */
async function answer(port: number): Promise<string | undefined> {
  const response = await getOnce(port, (text) => /"checksum":"[^"]*"/.test(text));
  const body = response?.slice(response.indexOf('\r\n\r\n') + 4);
  try {
    return body ? (JSON.parse(body) as { checksum?: string }).checksum : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `command`, and times until the service on `port` answers with `checksum`; `output` is all it printed, once it has exited. */
async function timeUntilAnswer(
  command: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  checksum: string,
): Promise<{ ms: number; child: ChildProcess; output: Promise<string> }> {
  const started = performance.now();
  const child = spawn(command[0] as string, command.slice(1), { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  child.stdout?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const output = new Promise<string>((resolve) => child.once('close', () => resolve(printed)));
  for (;;) {
    const got = await answer(port);
    if (got === checksum) return { ms: performance.now() - started, child, output };
    if (got !== undefined) throw new Error(`the service answered ${got}, expected ${checksum}`);
    if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`${command.join(' ')} exited with ${child.exitCode}: ${printed}`);
    if (performance.now() - started > 120_000) throw new Error(`${command.join(' ')} never answered`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export async function snapshotScenario(options: BenchOptions): Promise<ScenarioResult> {
  const modules = options.quick ? 400 : 2000;
  const megabytes = options.quick ? 25 : 100;
  const repeats = options.repeats ?? (options.quick ? 2 : 5);
  const base = path.join(os.tmpdir(), `freezedry-bench-snapshot-${process.pid}`);
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  const notes: string[] = [];
  const label = `${modules} modules + ${megabytes} MB JSON`;
  const m = (tool: string): Measurement => ({
    scenario: 'snapshot',
    case: `time until a warmed service answers (${label})`,
    tool,
    samples: [],
    unit: 'ms',
    metric: 'time until a warmed Node service answers',
    x: { label: 'workload', value: label },
  });
  const cold = m('node service.mjs (cold)');
  const lazy = m('freezedry restore of its snapshot (lazy, a new copy)');
  const v8 = m('node --snapshot-blob (V8 start-up snapshot)');
  const port = servicePort();
  const children: ChildProcess[] = [];
  try {
    const { graph, bundle } = await writeModuleGraph(path.join(base, 'graph'), modules);
    const data = path.join(base, 'data.json');
    await writeData(data, megabytes);
    const env = { ...process.env, GRAPH: graph, DATA: data, PORT: String(port), FREEZEDRY_LIB: lib };

    // The original: warms up, snapshots itself, keeps running (on its own port).
    const images = path.join(base, 'snapshot');
    const originalPort = port + 1;
    children.push(spawn(process.execPath, [warmService], { env: { ...env, PORT: String(originalPort), SNAPSHOT_DIR: images }, stdio: 'ignore' }));
    const expected = await waitForChecksum(originalPort);
    await waitForFile(path.join(images, 'snapshot.json'));

    // The V8 start-up snapshot of the same work, where Node can build one.
    const blob = path.join(base, 'service.blob');
    const entry = path.join(base, 'v8-entry.cjs');
    await writeFile(entry, v8Entry(bundle, data));
    let v8Ok = true;
    try {
      await exec(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', entry]);
    } catch (error) {
      v8Ok = false;
      notes.push(`snapshot: node could not build a start-up snapshot of the service: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }

    for (let r = 0; r < repeats; r++) {
      options.progress.sample('cold start, snapshot copy, V8 snapshot', r + 1, repeats);
      const first = await timeUntilAnswer([process.execPath, warmService], env, port, expected);
      cold.samples.push(first.ms);
      first.child.kill('SIGKILL');
      await new Promise((resolve) => first.child.once('close', resolve));

      const restored = await timeUntilAnswer([cli, 'restore', '-D', images, '--env', `PORT=${port}`, '--json'], env, port, expected);
      lazy.samples.push(restored.ms);
      // The copy runs under its namespace's init: ending the init ends it.
      const printed = await restored.output;
      const copy = JSON.parse(printed.slice(printed.indexOf('{'))) as { instance?: { initPid: number } };
      if (copy.instance?.initPid) await endTree(copy.instance.initPid);

      if (v8Ok) {
        const started = await timeUntilAnswer([process.execPath, '--snapshot-blob', blob], env, port, expected);
        v8.samples.push(started.ms);
        started.child.kill('SIGKILL');
        await new Promise((resolve) => started.child.once('close', resolve));
      }
    }
  } finally {
    for (const child of children) {
      child.kill('SIGKILL');
      if (child.pid !== undefined) await gone(child.pid);
    }
    await rm(base, { recursive: true, force: true });
  }
  const comparisons = [compare(lazy, cold, { describe: '≤ 0.05×', met: (c) => c.ratio <= 0.05 })];
  if (v8.samples.length > 0) comparisons.push(compare(lazy, v8));
  return { comparisons, measurements: [cold, lazy, v8], notes };
}

async function waitForChecksum(port: number): Promise<string> {
  for (let i = 0; i < 6000; i++) {
    const got = await answer(port);
    if (got) return got;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the original service never answered');
}

async function waitForFile(file: string): Promise<void> {
  for (let i = 0; i < 6000 && !existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (!existsSync(file)) throw new Error(`${file} never appeared: the service did not snapshot itself`);
}
