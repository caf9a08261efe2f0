// check(), version(), features(): is this machine able to checkpoint, and what to do if not.
// (version() and features() are CRIU queries, in criu/features.ts, re-exported here.)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { queryFeatures, withSession, type CriuFeatures } from './criu/features.js';
import { probeDirtyTracking } from './pages/dirty-tracker.js';
import { ErrorCode, isFreezedryError } from './errors.js';
import { RequestType } from './criu/rpc-schema.js';
import { leavesLazyPagesInPlace } from './criu/locate.js';
import { MINIMUM_CRIU, isSupported } from './criu/version.js';
import { packageRoot } from './native/binding.js';
import { onPath } from './process/command.js';

export { features, version, versionAndFeatures, type CriuFeatures } from './criu/features.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckItem {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a gap. */
  fix?: string;
}

export interface CheckReport {
  /** No item failed: dump and restore work here. */
  ok: boolean;
  criu?: { path: string; version: string };
  features?: CriuFeatures;
  items: CheckItem[];
}

export const PIPE_MAX_SIZE_NEEDED = 4 * 1024 * 1024;

const GET_CRIU =
  "run 'freezedry check --fix' (it runs scripts/provision.sh, shipped in the package: CRIU 4.x built from Debian's source into the package, cached), " +
  "install your distribution's criu where it is 4.1 or newer, or set FREEZEDRY_CRIU to one";

function readNumber(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}

function hasCapability(bit: number): boolean {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)/m);
  return line ? (BigInt(`0x${line[1]}`) & (1n << BigInt(bit))) !== 0n : false;
}

/** CRIU's own items: its version, and 'criu check'. */
async function checkCriu(criu: string | undefined, report: CheckReport): Promise<void> {
  const items = report.items;
  try {
    await withSession(criu, async (session, v) => {
      report.criu = { path: session.criuPath, version: v.text };
      const supported = isSupported(v);
      items.push({
        id: 'criu-version',
        title: `CRIU ${MINIMUM_CRIU.major}.${MINIMUM_CRIU.minor} or newer`,
        status: supported ? 'ok' : 'fail',
        detail: `CRIU ${v.text} at ${session.criuPath}`,
        fix: supported ? undefined : GET_CRIU,
      });
      if (!supported) return;
      report.features = await queryFeatures(session);
      const { response } = await session.request({ type: RequestType.CHECK });
      const said = session.consoleOutput.trim().split('\n').filter(Boolean);
      items.push({
        id: 'criu-check',
        title: "'criu check' passes",
        status: response.success ? 'ok' : 'fail',
        detail: response.success ? said.at(-1) ?? 'Looks good.' : said.slice(-3).join('; ') || 'criu check failed',
        fix: response.success ? undefined : 'run `criu check` by hand for the full output; a kernel without the features above cannot checkpoint',
      });
      const inPlace = leavesLazyPagesInPlace(session.criuPath);
      items.push({
        id: 'criu-lazy-pages-in-place',
        title: "freezedry's change to CRIU (a migration's freeze that does not grow with memory)",
        status: inPlace ? 'ok' : 'warn',
        detail: inPlace
          ? "built in: a lazy dump leaves the pages in the stopped tree, read as they are pulled"
          : 'not in this CRIU: a lazy dump pins every page into pipes while the tree is frozen (~30-50 ms per GiB of a migration\'s freeze)',
        fix: inPlace ? undefined : "run 'npm run provision' (scripts/provision.sh builds CRIU with scripts/criu/lazy-pages-in-place.patch)",
      });
    });
  } catch (error) {
    if (!isFreezedryError(error)) throw error;
    // Only a CRIU that is missing (or too old to answer) is "not installed"; one that died or
    // failed mid-check fails the check itself, with its own error.
    const missing = error.code === ErrorCode.CRIU_NOT_FOUND || error.code === ErrorCode.CRIU_TOO_OLD;
    items.push(
      missing
        ? {
            id: 'criu-version',
            title: 'CRIU is installed',
            status: 'fail',
            detail: error.message,
            fix: GET_CRIU,
          }
        : {
            id: 'criu-check',
            title: "'criu check' passes",
            status: 'fail',
            detail: `${error.code}: ${error.message}`,
            fix: 'run `criu check` by hand for the full output',
          },
    );
  }
}

/** The whole report: CRIU, kernel features and host settings, each with what to do about it. */
export async function check(options: { criu?: string; fix?: boolean } = {}): Promise<CheckReport> {
  const items: CheckItem[] = [];
  const report: CheckReport = { ok: false, items };
  const root = process.getuid?.() === 0;
  items.push({
    id: 'root',
    title: 'running as root',
    status: root ? 'ok' : 'fail',
    detail: root ? 'uid 0' : `uid ${process.getuid?.()}`,
    fix: root ? undefined : 'run freezedry as root (CRIU must ptrace and restore any process)',
  });

  await checkCriu(options.criu, report);
  // --fix with no usable CRIU: the provisioning script shipped in the package builds one (or
  // takes it from its cache), records it, and the check runs again.
  if (options.fix && root && !options.criu && report.items.some((item) => item.id === 'criu-version' && item.status === 'fail')) {
    const provisioned = spawnSync('bash', [path.join(packageRoot, 'scripts', 'provision.sh')], { stdio: ['ignore', 2, 2] });
    if (provisioned.status === 0) {
      for (let i = items.length - 1; i >= 0; i--) if (items[i]?.id.startsWith('criu-')) items.splice(i, 1);
      await checkCriu(undefined, report);
    }
  }
  const f = report.features;
  if (f) {
    items.push({
      id: 'soft-dirty',
      title: 'soft-dirty memory tracking',
      status: f.memTrack ? 'ok' : 'warn',
      detail: f.memTrack ? 'available: CRIU pre-dump and incremental dumps work' : 'missing (no CONFIG_MEM_SOFT_DIRTY): CRIU pre-dump and --track-mem cannot run',
      fix: f.memTrack ? undefined : "nothing to do: freezedry's own dirty tracker (below) serves pre-copy migration where it works",
    });
    const tracker = await probeDirtyTracking();
    items.push({
      id: 'dirty-tracker',
      title: "freezedry's dirty tracker (pre-copy migration without soft-dirty)",
      status: tracker.works ? 'ok' : 'warn',
      detail: tracker.works
        ? 'works: userfaultfd write-protect (UFFD_FEATURE_WP_ASYNC) and PAGEMAP_SCAN'
        : `does not work here: ${tracker.reason ?? 'unknown'}`,
      fix: tracker.works
        ? undefined
        : f.memTrack
          ? "nothing to do: pre-copy uses CRIU's pre-dumps (soft-dirty) instead"
          : 'pre-copy and hybrid migration need Linux 6.7+ (UFFD_FEATURE_WP_ASYNC, PAGEMAP_SCAN) or soft-dirty; stop-copy and post-copy work without either',
    });
    const unprivileged = readNumber('/proc/sys/vm/unprivileged_userfaultfd');
    items.push({
      id: 'userfaultfd',
      title: 'userfaultfd (lazy restore, post-copy migration)',
      status: f.lazyPages ? 'ok' : 'warn',
      detail: f.lazyPages
        ? `available${existsSync('/dev/userfaultfd') ? ', /dev/userfaultfd present' : ''}${unprivileged === 0 ? ', root only (vm.unprivileged_userfaultfd = 0)' : ''}`
        : 'missing or without the non-cooperative events (fork, remap, unmap, remove)',
      fix: f.lazyPages ? undefined : 'use a kernel built with CONFIG_USERFAULTFD (5.x or newer); lazy restore is unavailable until then',
    });
  }

  let pipeMax = readNumber('/proc/sys/fs/pipe-max-size') ?? 0;
  if (pipeMax < PIPE_MAX_SIZE_NEEDED && options.fix && root) {
    writeFileSync('/proc/sys/fs/pipe-max-size', String(PIPE_MAX_SIZE_NEEDED));
    pipeMax = readNumber('/proc/sys/fs/pipe-max-size') ?? pipeMax;
  }
  const capSysResource = hasCapability(24);
  const pipeOk = pipeMax >= PIPE_MAX_SIZE_NEEDED || capSysResource;
  items.push({
    id: 'pipe-max-size',
    title: 'fs.pipe-max-size >= 4 MiB (or CAP_SYS_RESOURCE)',
    status: pipeOk ? 'ok' : 'warn',
    detail: `${pipeMax} bytes${capSysResource ? ', CAP_SYS_RESOURCE held' : ', no CAP_SYS_RESOURCE'}`,
    fix: pipeOk
      ? undefined
      : `CRIU's page pipes stay small (slower dumps) and its remote lazy page server fails on the first request: run 'freezedry check --fix' or 'sysctl -w fs.pipe-max-size=${PIPE_MAX_SIZE_NEEDED}'`,
  });
  items.push(
    programItem(
      'iptables',
      'iptables (network locking for --tcp-established and net namespaces)',
      'iptables-restore',
      "apt-get install iptables (without it, dumps of trees with their own net namespace or TCP connections fail with execvp(\"iptables-restore\"))",
    ),
    programItem(
      'nft',
      "nft (removing CRIU's network lock from a tree whose move failed)",
      'nft',
      "apt-get install nftables (without it, a tree with its own net namespace whose migration fails after the freeze resumes behind CRIU's lock, reaching nobody)",
    ),
  );

  report.ok = items.every((item) => item.status !== 'fail');
  return report;
}

/** An item for a program that must be on the PATH; `fix` says how to install it and what its absence costs. */
function programItem(id: string, title: string, program: string, fix: string): CheckItem {
  const found = onPath(program);
  return { id, title, status: found ? 'ok' : 'warn', detail: found ? `${program} found` : `${program} not on PATH`, fix: found ? undefined : fix };
}
