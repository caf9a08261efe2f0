// Asking CRIU what it is and what this kernel lets it do, one short-lived swrk per question:
// what check() reports, and what the operations ask before choosing how to work.
import { rememberedFact } from '../binary-facts.js';
import { locateCriu } from './locate.js';
import { RequestType } from './rpc-schema.js';
import { CriuSession } from './session.js';
import { assertSupported, isSupported, queryVersion, type CriuVersion } from './version.js';

export interface CriuFeatures {
  /** Soft-dirty memory tracking: CRIU's own pre-dump and incremental dumps. */
  memTrack: boolean;
  /** userfaultfd with the non-cooperative events lazy restore needs. */
  lazyPages: boolean;
  /** pidfd_open and pidfd_getfd. */
  pidfdStore: boolean;
}

/** Runs `use` with one short-lived CRIU swrk and its version. */
export async function withSession<T>(criu: string | undefined, use: (session: CriuSession, version: CriuVersion) => Promise<T>): Promise<T> {
  const session = new CriuSession(locateCriu(criu));
  try {
    return await use(session, await queryVersion(session));
  } finally {
    await session.close();
  }
}

export async function version(options: { criu?: string } = {}): Promise<CriuVersion & { path: string }> {
  return (await versionAndFeatures(options)).version;
}

export async function queryFeatures(session: CriuSession): Promise<CriuFeatures> {
  const { response } = await session.request({
    type: RequestType.FEATURE_CHECK,
    keepOpen: true,
    features: { memTrack: true, lazyPages: true, pidfdStore: true },
  });
  const f = response.features ?? {};
  return { memTrack: f.memTrack === true, lazyPages: f.lazyPages === true, pidfdStore: f.pidfdStore === true };
}

/**
 * Both from one short-lived swrk (remembered for this CRIU binary and kernel: see
 * binary-facts.ts); features is undefined for a CRIU too old to be used.
 */
export async function versionAndFeatures(options: { criu?: string } = {}): Promise<{ version: CriuVersion & { path: string }; features?: CriuFeatures }> {
  const criuPath = locateCriu(options.criu);
  return rememberedFact('criu-version-features', criuPath, () =>
    withSession(criuPath, async (session, v) => {
      const found = { version: { ...v, path: session.criuPath } };
      // A failure to ask throws, and is not remembered.
      return isSupported(v) ? { ...found, features: await queryFeatures(session) } : found;
    }),
  );
}

export async function features(options: { criu?: string } = {}): Promise<CriuFeatures> {
  const { version: found, features: supported } = await versionAndFeatures(options);
  if (!supported) assertSupported(found, found.path); // throws: too old
  return supported as CriuFeatures;
}


const lazyPagesSupport = new Map<string, Promise<boolean>>();

/** Whether CRIU and the kernel can restore lazily here (asked once per CRIU binary). */
export function lazyPagesAvailable(criuPath: string): Promise<boolean> {
  let known = lazyPagesSupport.get(criuPath);
  if (!known) {
    // A failure to ask is not an answer: it is not kept, and it is the caller's error.
    known = features({ criu: criuPath }).then(
      (f) => f.lazyPages,
      (error: unknown) => {
        lazyPagesSupport.delete(criuPath);
        throw error;
      },
    );
    lazyPagesSupport.set(criuPath, known);
  }
  return known;
}
