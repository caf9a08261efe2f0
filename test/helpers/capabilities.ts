// What this machine can do, probed once per test file; every skip says why.
import { check } from '../../src/check.js';

export interface Capabilities {
  root: boolean;
  criu: boolean;
  lazyPages: boolean;
  reason?: string;
}

let probed: Promise<Capabilities> | undefined;

export function capabilities(): Promise<Capabilities> {
  probed ??= (async () => {
    if (process.getuid?.() !== 0) return { root: false, criu: false, lazyPages: false, reason: 'not running as root' };
    const report = await check();
    const failed = report.items.filter((item) => item.status === 'fail');
    return {
      root: true,
      criu: report.ok,
      lazyPages: report.features?.lazyPages === true,
      reason: failed.length > 0 ? failed.map((item) => `${item.title}: ${item.detail}`).join('; ') : undefined,
    };
  })();
  return probed;
}

/** For describe.runIf: true when CRIU works here; prints the reason once when it does not. */
export async function canCheckpoint(): Promise<boolean> {
  const caps = await capabilities();
  if (!caps.criu) console.warn(`SKIP (CRIU integration): ${caps.reason}`);
  return caps.criu;
}
