// Test and benchmark workloads are small C programs, built once per content (the binary's
// name carries a hash of the source) into a cache directory under the temp dir.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/** `static`: linked statically (for a container rootfs without a libc). */
export async function compileC(source: string, cacheName: string, options: { static?: boolean } = {}): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(source)).update(options.static ? 'static' : '').digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), cacheName);
  const binary = path.join(dir, `${path.basename(source, '.c')}-${hash}`);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    // Built aside and renamed: parallel test files may compile the same program at once.
    const partial = `${binary}.${process.pid}`;
    await promisify(execFile)('cc', ['-O2', '-pthread', '-Wall', ...(options.static ? ['-static'] : []), '-o', partial, source]);
    renameSync(partial, binary);
  }
  return binary;
}
