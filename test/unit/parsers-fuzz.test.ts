// Property-based fuzzing (fast-check) of the TypeScript parsers that read untrusted input: the
// migration protocol's framing and messages, an archive's manifest and tar headers, and CRIU's
// image files. Every input ends in a parse or a coded error, never another exception or a hang.
// FREEZEDRY_FUZZ_RUNS raises the number of runs; FREEZEDRY_FUZZ_SECONDS runs each property for
// that long instead (npm run fuzz: 60 s each, after the C++ targets).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/archive/archive-reader.js';
import { parseTarHeader } from '../../src/archive/tar-header.js';
import { isFreezedryError } from '../../src/errors.js';
import { ImageFormatError, parseImage } from '../../src/images/image-file.js';
import { parsePagemap, parsePstree, parseVmas } from '../../src/images/memory-images.js';
import { checkedParts } from '../../src/migrate/frame-replay.js';
import { MessageChannel } from '../../src/migrate/message-channel.js';
import { socketPair } from '../helpers/sockets.js';

const seconds = Number(process.env.FREEZEDRY_FUZZ_SECONDS ?? 0);
const runs = seconds > 0 ? Number.MAX_SAFE_INTEGER / 8 : Number(process.env.FREEZEDRY_FUZZ_RUNS ?? 300);
/** For a timed run: stop (without failing) once the time is up. */
const timed = seconds > 0 ? { interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false } : {};
const testTimeout = seconds > 0 ? (seconds + 120) * 1000 : 120_000;

/** Runs `parse`; a thrown error must be one of `allowed`. */
function parsesOrRefuses(parse: () => unknown, allowed: (error: unknown) => boolean): boolean {
  try {
    parse();
    return true;
  } catch (error) {
    if (allowed(error)) return true;
    throw error;
  }
}

/** After a timed run (npm run fuzz), how many inputs a property tried. */
function report(property: string, tried: number): void {
  if (seconds > 0) console.log(`fuzz ${property}: ${tried} inputs in ${seconds} s, none failed`);
}

const coded = (...codes: string[]) => (error: unknown) => isFreezedryError(error) && codes.includes(error.code);

/** An image file: CRIU's magic, then length-prefixed records of arbitrary bytes (or raw junk). */
const imageBytes = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc
    .tuple(fc.constantFrom(0x54564319, 0x56084025, 0x50273030, 0x57191528), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }))
    .map(([magic, records]) => {
      const parts = [Buffer.from(new Uint32Array([magic]).buffer)];
      if (magic === 0x54564319) parts.push(Buffer.from(new Uint32Array([0x56084025]).buffer));
      for (const record of records) parts.push(Buffer.from(new Uint32Array([record.length]).buffer), Buffer.from(record));
      return new Uint8Array(Buffer.concat(parts));
    }),
);

describe('parsers under fuzzing', () => {
  it('image files: a parse or ImageFormatError', () => {
    let tried = 0;
    fc.assert(
      fc.property(imageBytes, (bytes) => {
        tried++;
        const isImageError = (error: unknown) => error instanceof ImageFormatError;
        parsesOrRefuses(() => parseImage(bytes), isImageError);
        parsesOrRefuses(() => parsePagemap(bytes), isImageError);
        parsesOrRefuses(() => parsePstree(bytes), isImageError);
        parsesOrRefuses(() => parseVmas(bytes), isImageError);
      }),
      { numRuns: runs * 4, ...timed },
    );
    report('image files', tried);
  }, testTimeout);

  it('an archive manifest: a parse or ERR_ARCHIVE_CORRUPT / FORMAT / VERSION', () => {
    const json = fc.oneof(fc.json(), fc.record({ format: fc.constantFrom('freezedry-archive', 'x'), version: fc.oneof(fc.constant(1), fc.integer()) }).map((o) => JSON.stringify(o)));
    let tried = 0;
    fc.assert(
      fc.property(fc.oneof(json.map((t) => Buffer.from(t)), fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b))), (bytes) => {
        tried++;
        return parsesOrRefuses(() => parseManifest(bytes, 'fuzz.tar.zst'), coded('ERR_ARCHIVE_CORRUPT', 'ERR_ARCHIVE_FORMAT', 'ERR_ARCHIVE_VERSION'));
      }),
      { numRuns: runs * 4, ...timed },
    );
    report('archive manifest', tried);
  }, testTimeout);

  it("a 'frames' message: each veth's whole frames within its bytes, or refused before any is injected", () => {
    // Length-prefixed frames of sane and insane sizes, some cut short; veth names and sizes that may lie.
    const frame = fc.tuple(fc.oneof(fc.integer({ min: 54, max: 300 }), fc.nat(70_000)), fc.boolean()).map(([size, whole]) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(size);
      return Buffer.concat([length, Buffer.alloc(whole ? Math.min(size, 300) : size % 17, 7)]);
    });
    const batches = fc.array(fc.array(frame, { maxLength: 3 }).map((frames) => Buffer.concat(frames)), { maxLength: 3 });
    const names = fc.oneof(fc.constantFrom('eth0', 'eth1', 'net-a.1'), fc.string({ maxLength: 20 }));
    let tried = 0;
    fc.assert(
      fc.property(batches, fc.array(names, { minLength: 3, maxLength: 3 }), fc.integer({ min: -2, max: 2 }), fc.anything(), fc.boolean(), (parts, veths, skew, junk, lie) => {
        tried++;
        const bytes = Buffer.concat(parts);
        const declared = lie ? junk : parts.map((part, i) => ({ veth: veths[i], size: part.length + (i === 0 ? skew : 0) }));
        return parsesOrRefuses(
          () => {
            const checked = checkedParts(declared, bytes);
            expect(checked.reduce((sum, part) => sum + part.bytes.length, 0)).toBe(bytes.length);
          },
          (error) => error instanceof Error && /^malformed 'frames' message/.test(error.message),
        );
      }),
      { numRuns: runs * 4, ...timed },
    );
    report("'frames' messages", tried);
  }, testTimeout);

  it('tar headers: any 512-byte block parses, with its checksum judged', () => {
    let tried = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (block) => {
        tried++;
        const header = parseTarHeader(Buffer.from(block));
        expect(typeof header.checksumValid).toBe('boolean');
        expect(Number.isFinite(header.size) || !header.checksumValid).toBe(true);
      }),
      { numRuns: runs * 4, ...timed },
    );
    report('tar headers', tried);
  }, testTimeout);

  it('the migration channel: frames of any bytes end in a message or ERR_MIGRATION_PROTOCOL / ERR_MIGRATION_FAILED, in bounded time', async () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 256 }), // raw junk, length prefix included
      fc.oneof(fc.json(), fc.string()).map((text) => {
        const body = Buffer.from(text);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(body.length);
        return new Uint8Array(Buffer.concat([header, body]));
      }),
      fc.nat().map((length) => new Uint8Array(Buffer.from([length >>> 24, (length >>> 16) & 255, (length >>> 8) & 255, length & 255]))),
    );
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
        tried++;
        const pair = await socketPair();
        const [writer, reader] = pair.sockets;
        const channel = new MessageChannel(reader, { linkTimeoutMs: 2000 });
        try {
          writer.end(Buffer.concat(frames));
          for (let i = 0; i < 8; i++) {
            const message = await channel.next();
            if (typeof message.size !== 'undefined') await channel.receiveBytes(message.size);
          }
        } catch (error) {
          if (!coded('ERR_MIGRATION_PROTOCOL', 'ERR_MIGRATION_FAILED', 'ERR_AUTH_FAILED', 'ERR_INCOMPATIBLE_HOST')(error)) throw error;
        } finally {
          channel.close();
          pair.close();
        }
      }),
      { numRuns: Math.ceil(runs / 3), ...timed },
    );
    report('migration channel frames', tried);
  }, seconds > 0 ? testTimeout : 120_000 + runs * 20);
});
