import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import {
  ArchiveBuilder
} from "./chunk-ZVYR6UP2.js";
import {
  version
} from "./chunk-SREGTA7H.js";
import {
  summarizeCheckpoint
} from "./chunk-4LSSWRP7.js";
import {
  directorySource,
  readDumpStats
} from "./chunk-F3SPZOCF.js";
import {
  assertImagesPresent
} from "./chunk-Y4SUBUAX.js";
import {
  Archive,
  sourceHost
} from "./chunk-PTYGFORS.js";

// lib/archive/transfer.js
import path from "node:path";
async function exportArchive(imagesDir, file, options = {}) {
  const dir = path.resolve(imagesDir);
  await assertImagesPresent(dir);
  const criu = await version({ criu: options.criu });
  const source = directorySource(dir);
  const totalBytes = (await Promise.all((await source.names()).map(async (name) => (await source.read(name))?.length ?? 0))).reduce((a, b) => a + b, 0);
  const builder = await ArchiveBuilder.create(file, options);
  const timer = options.onProgress && setInterval(() => options.onProgress?.({ bytes: builder.writer.counters().bytesIn, totalBytes }), 100);
  try {
    await builder.addDirectory(dir);
    const finished = await builder.finish({
      createdAt: (/* @__PURE__ */ new Date()).toISOString(),
      source: sourceHost(criu.text),
      summary: await summarizeCheckpoint(source),
      criuStats: await readDumpStats(dir)
    });
    return { file: finished.file, bytes: finished.bytes, uncompressedBytes: builder.writer.counters().bytesIn };
  } catch (error) {
    await builder.abandon();
    throw error;
  } finally {
    if (timer)
      clearInterval(timer);
  }
}
async function importArchive(file, imagesDir, options = {}) {
  const archive = await Archive.open(file);
  try {
    const dir = path.resolve(imagesDir);
    await archive.extract(dir, options.onProgress && ((bytes, totalBytes) => options.onProgress?.({ bytes, totalBytes })));
    return { imagesDir: dir, entries: archive.entries.length };
  } finally {
    archive.close();
  }
}

export {
  exportArchive,
  importArchive
};
