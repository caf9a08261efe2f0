// CRIU's version, asked over RPC once per binary and cached; freezedry needs 4.1 or newer.
import { statSync } from 'node:fs';
import { ErrorCode, FreezedryError } from '../errors.js';
import { RequestType } from './rpc-schema.js';
import type { CriuSession } from './session.js';

export interface CriuVersion {
  major: number;
  minor: number;
  sublevel: number;
  gitId?: string;
  /** "4.2.1" */
  text: string;
}

export const MINIMUM_CRIU = { major: 4, minor: 1 } as const;

const cache = new Map<string, CriuVersion>();

function cacheKey(criuPath: string): string {
  try {
    return `${criuPath}:${statSync(criuPath).mtimeMs}`;
  } catch {
    return criuPath;
  }
}

/** Asks the session's criu for its version (keeping the session open for the next request). */
export async function queryVersion(session: CriuSession): Promise<CriuVersion> {
  const key = cacheKey(session.criuPath);
  const cached = cache.get(key);
  if (cached) return cached;
  const { response } = await session.request({ type: RequestType.VERSION, keepOpen: true });
  if (!response.success || !response.version) {
    throw new FreezedryError(ErrorCode.CRIU_PROTOCOL, `${session.criuPath} did not report its version`);
  }
  const { major, minor, sublevel = 0, gitId } = response.version;
  const version: CriuVersion = { major, minor, sublevel, gitId, text: `${major}.${minor}.${sublevel}` };
  cache.set(key, version);
  return version;
}

export function isSupported(version: CriuVersion): boolean {
  return version.major > MINIMUM_CRIU.major || (version.major === MINIMUM_CRIU.major && version.minor >= MINIMUM_CRIU.minor);
}

export function assertSupported(version: CriuVersion, criuPath: string): void {
  if (!isSupported(version)) {
    throw new FreezedryError(
      ErrorCode.CRIU_TOO_OLD,
      `CRIU ${version.text} at ${criuPath} is too old: freezedry needs ${MINIMUM_CRIU.major}.${MINIMUM_CRIU.minor} or newer ` +
        `(older CRIU fails on current kernels, e.g. "vdso: Unexpected rt vDSO area bounds"). Run 'npm run provision'.`,
      { criuVersion: version.text, criuPath },
    );
  }
}
