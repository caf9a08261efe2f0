// What a binary said about itself and this kernel (CRIU's version and features, runc's version),
// remembered across commands in /run (a tmpfs: gone at reboot), so that a command does not
// start runc or CRIU only to ask what the one before it asked. An entry counts only for the
// same file (device, inode, size, times) under the same kernel; any trouble with the cache
// just means asking again.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Read when used, not when loaded: the CLI's start-up snapshot loads this module at build time. */
function cacheDir(): string {
  return process.env.FREEZEDRY_FACTS_DIR ?? '/run/freezedry/facts';
}

/** `ask()`'s answer about `binary`, from the cache when the same file was asked on this kernel. */
export async function rememberedFact<T>(question: string, binary: string, ask: () => Promise<T>): Promise<T> {
  const entry = cacheEntry(question, binary);
  if (entry) {
    try {
      const saved = JSON.parse(readFileSync(entry.file, 'utf8')) as { identity?: string; answer: T };
      if (saved.identity === entry.identity) return saved.answer;
    } catch {
      // not asked yet (or unreadable): ask
    }
  }
  const answer = await ask();
  if (entry) {
    try {
      mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
      const partial = `${entry.file}.${process.pid}`;
      writeFileSync(partial, JSON.stringify({ identity: entry.identity, answer }), { mode: 0o600 });
      renameSync(partial, entry.file);
    } catch {
      // an unwritable cache only costs the next command the question
    }
  }
  return answer;
}

/** Where the answer about this very file is kept (named by device and inode), and what must match to use it. */
function cacheEntry(question: string, binary: string): { file: string; identity: string } | undefined {
  try {
    const info = statSync(binary);
    const identity = [question, path.resolve(binary), info.dev, info.ino, info.size, info.mtimeMs, info.ctimeMs, os.release()].join('\0');
    return { file: path.join(cacheDir(), `${question}-${info.dev}-${info.ino}.json`), identity };
  } catch {
    return undefined;
  }
}
