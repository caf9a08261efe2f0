// Finds the CRIU binary: $FREEZEDRY_CRIU, then the one scripts/provision.sh recorded, then PATH.
// Every run of CRIU starts here, so this also readies the directory of its kernel-probe cache.
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, FreezedryError } from '../errors.js';
import { packageRoot } from '../native/binding.js';
import { prepareKerndatCache } from './kerndat-cache.js';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function locateCriu(explicit?: string): string {
  prepareKerndatCache();
  const named = explicit ?? process.env.FREEZEDRY_CRIU;
  if (named) {
    if (isExecutable(named)) return named;
    throw new FreezedryError(ErrorCode.CRIU_NOT_FOUND, `CRIU not found at ${named} (named by ${explicit ? 'the criu option' : 'FREEZEDRY_CRIU'})`);
  }
  const tried: string[] = [];
  const recorded = path.join(packageRoot, '.deps', 'criu-path');
  try {
    const file = readFileSync(recorded, 'utf8').trim();
    if (file && isExecutable(file)) return file;
    tried.push(file);
  } catch {
    tried.push(recorded);
  }
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, 'criu');
    if (isExecutable(candidate)) return candidate;
  }
  throw new FreezedryError(
    ErrorCode.CRIU_NOT_FOUND,
    `CRIU not found (looked at ${tried.join(', ')} and on PATH). Run 'npm run provision' (scripts/provision.sh) ` +
      'to build a working CRIU, or set FREEZEDRY_CRIU to a CRIU >= 4.1.',
  );
}

const mentioned = new Map<string, boolean>();

/** Whether the CRIU binary at `criuPath` contains `text` (read once per binary and text). */
function binaryMentions(criuPath: string, text: string): boolean {
  const key = `${criuPath}\0${text}`;
  let known = mentioned.get(key);
  if (known === undefined) {
    try {
      known = readFileSync(criuPath).includes(text);
    } catch {
      known = false;
    }
    mentioned.set(key, known);
  }
  return known;
}

/** Whether this CRIU can lock the network with nftables (it links libnftables). */
export function canLockWithNftables(criuPath: string): boolean {
  return binaryMentions(criuPath, 'libnftables.so');
}

/**
 * Added to the environment of every CRIU freezedry starts (its own, and runc's). CRIU_FAULT=130
 * is CRIU's switch to its path without hardware breakpoints (FI_NO_BREAKPOINTS, one of its
 * faults that change no outcome; the path it takes on a kernel without breakpoints): a dump's
 * parasite and a restore's last step are then followed to rt_sigreturn by syscall stops. Arming
 * the breakpoint (one PTRACE_POKEUSER of a debug register) takes the kernel 5-35 ms here
 * (`strace -T`), once in every dump's freeze and once in every restore; the stops take
 * microseconds. A CRIU_FAULT already set, say by a test, is left as it is.
 */
export function criuEnvironment(): Record<string, string> {
  return process.env.CRIU_FAULT === undefined ? { CRIU_FAULT: '130' } : {};
}

/**
 * What tells a CRIU built with freezedry's change (scripts/criu/lazy-pages-in-place.patch) to
 * leave a lazy dump's pages in the stopped tree, read when they are asked for, rather than pin
 * every one into pipes while the tree is frozen. Other CRIUs ignore it.
 */
export const LAZY_PAGES_IN_PLACE_ENVIRONMENT: Readonly<Record<string, string>> = { FREEZEDRY_CRIU_LAZY_PAGES_IN_PLACE: '1' };

/** Whether this CRIU has that change (its lazy dump's freeze then hardly grows with memory). */
export function leavesLazyPagesInPlace(criuPath: string): boolean {
  return binaryMentions(criuPath, 'FREEZEDRY_CRIU_LAZY_PAGES_IN_PLACE');
}
