// What runc and CRIU said about themselves is remembered across commands only for the same
// file on the same kernel, and a failure to ask is never remembered.
import { linkSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const base = mkdtempSync(path.join(os.tmpdir(), 'binary-facts-'));
process.env.FREEZEDRY_FACTS_DIR = path.join(base, 'facts');
const { rememberedFact } = await import('../../src/binary-facts.js');
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('rememberedFact', () => {
  const binary = path.join(base, 'tool');
  writeFileSync(binary, 'version 1');

  it('asks once for the same file, then answers from the cache (another process would too)', async () => {
    let asked = 0;
    const ask = async () => ({ version: `v${++asked}` });
    expect(await rememberedFact('q', binary, ask)).toEqual({ version: 'v1' });
    expect(await rememberedFact('q', binary, ask)).toEqual({ version: 'v1' });
    expect(asked).toBe(1);
    expect(readdirSync(path.join(base, 'facts'))).toHaveLength(1);
    // Another question about the same file is asked on its own.
    expect(await rememberedFact('other', binary, ask)).toEqual({ version: 'v2' });
  });

  it('asks again once the file changed (a new runc or CRIU installed in its place)', async () => {
    let asked = 0;
    const ask = async () => ++asked;
    await rememberedFact('changed', binary, ask);
    writeFileSync(binary, 'version 2, longer');
    utimesSync(binary, new Date(), new Date(Date.now() + 5000));
    expect(await rememberedFact('changed', binary, ask)).toBe(2);
  });

  it('keeps each answer with what it was about, and does not hand it out for anything else', async () => {
    let asked = 0;
    const ask = async () => ++asked;
    await rememberedFact('identity', binary, ask);
    // The same inode under another path is another binary as far as the cache knows.
    const link = path.join(base, 'tool-link');
    linkSync(binary, link);
    expect(await rememberedFact('identity', link, ask)).toBe(2);
    expect(await rememberedFact('identity', link, ask)).toBe(2);
    expect(asked).toBe(2);
  });

  it('never remembers a failure, and a damaged entry is asked again', async () => {
    let asked = 0;
    const failing = async (): Promise<number> => {
      asked++;
      throw new Error('could not ask');
    };
    await expect(rememberedFact('fails', binary, failing)).rejects.toThrow('could not ask');
    expect(await rememberedFact('fails', binary, async () => 42)).toBe(42);
    expect(asked).toBe(1);

    await rememberedFact('damaged', binary, async () => 'first');
    const dir = path.join(base, 'facts');
    for (const name of readdirSync(dir).filter((n) => n.startsWith('damaged-'))) writeFileSync(path.join(dir, name), '{not json');
    expect(await rememberedFact('damaged', binary, async () => 'asked again')).toBe('asked again');
  });

  it('asks every time about a file that is not there (nothing to key it on)', async () => {
    let asked = 0;
    const ask = async () => ++asked;
    await rememberedFact('missing', path.join(base, 'no-such-tool'), ask);
    await rememberedFact('missing', path.join(base, 'no-such-tool'), ask);
    expect(asked).toBe(2);
  });
});
