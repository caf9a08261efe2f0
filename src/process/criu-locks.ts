// What a CRIU dump leaves on a tree it leaves stopped, for a move: its network locked and, with
// established connections, its TCP sockets in repair mode (nothing sent or acknowledged). CRIU
// undoes both only when the tree goes on running after the dump. A tree whose move then failed
// is resumed: before that, this undoes them, or it would reach nobody and nobody it.
// The lock, with nftables (the provisioned CRIU's method), is a table `inet CRIU-<the dump's run
// id, cut to 21 characters>` in the tree's network namespace: one that drops everything when
// the tree has a namespace of its own, rules for each TCP connection when it shares its host's.
// With iptables, a namespace of its own gets a CRIU chain INPUT and OUTPUT jump to. A tree that
// shares its namespace leaves the table behind when it ends too (after a move): endLockedTree.
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { native } from '../native/binding.js';
import { command } from './command.js';
import { hasOwnNetns } from './proc.js';

/**
 * Undoes the locks of a dump on the tree of `rootPid` (its processes: `pids`), before it resumes;
 * `runId`, the dump's (readDumpRunId), names its lock in a namespace the tree shares with others
 * (without it, CRIU's tables there that lock one of the tree's connections go).
 */
export async function releaseCriuLocks(rootPid: number, pids: number[], runId?: string): Promise<void> {
  for (const pid of pids) {
    try {
      native().releaseRepairedSockets(pid);
    } catch {
      // gone meanwhile
    }
  }
  await removeNetworkLock(rootPid, pids, runId);
}

/** Removes CRIU's network locks from the namespace of the tree of `rootPid`: the dump's, or any in a namespace of its own. */
async function removeNetworkLock(rootPid: number, pids: number[], runId: string | undefined): Promise<void> {
  let own: boolean;
  try {
    own = hasOwnNetns(rootPid);
  } catch {
    return; // gone
  }
  const inTreeNetns = (argv: string[]) => inNetnsOf(rootPid, argv);
  if (runId) await deleteLockTable(`/proc/${rootPid}/ns/net`, runId);
  else if (!own) await deleteTablesLocking(rootPid, connectionsOf(rootPid, pids));
  if (!own) return;
  // Only CRIU's dumps of this tree put tables of that name in its private namespace.
  for (const table of await criuTablesIn(rootPid)) await inTreeNetns(['nft', 'delete', 'table', 'inet', table]);
  for (const tables of ['iptables', 'ip6tables']) {
    if ((await inTreeNetns([tables, '-w', '-S', 'CRIU'])).exitCode !== 0) continue; // no such chain
    for (const chain of ['INPUT', 'OUTPUT']) await inTreeNetns([tables, '-w', '-D', chain, '-j', 'CRIU']);
    await inTreeNetns([tables, '-w', '-F', 'CRIU']);
    await inTreeNetns([tables, '-w', '-X', 'CRIU']);
  }
}

/**
 * Ends the tree of `rootPid` with `end`, then removes the lock of its dump (run `runId`) from the
 * network namespace it shared with others, which outlives it (a namespace of its own goes with
 * it). Removed after the end, not before: the tree's sockets must not meet its peers' packets.
 */
export async function endLockedTree(rootPid: number, runId: string | undefined, end: () => void): Promise<void> {
  let netns: number | undefined;
  try {
    if (runId && !hasOwnNetns(rootPid)) netns = openSync(`/proc/${rootPid}/ns/net`, 'r');
  } catch {
    // gone already
  }
  end();
  if (netns === undefined || !runId) return;
  try {
    // The namespace, held open here, is entered through this process's descriptor of it.
    await deleteLockTable(`/proc/${process.pid}/fd/${netns}`, runId);
  } finally {
    closeSync(netns);
  }
}

/**
 * The TCP connections `pids` hold, as `ADDRESS.PORT|ADDRESS.PORT` (local, then remote), from
 * /proc/`rootPid`/net/tcp{,6}: the tenth field is the socket's inode, the second and third the
 * ends, as ADDRESS:PORT in hex (the address in 32-bit words of host byte order).
 */
function connectionsOf(rootPid: number, pids: number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const inode = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode) inodes.add(inode);
      }
    } catch {
      // gone meanwhile
    }
  }
  const connections = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${rootPid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1] && fields[2] && inodes.has(fields[9] ?? '')) connections.add(`${endOf(fields[1])}|${endOf(fields[2])}`);
    }
  }
  return connections;
}

/** ADDRESS:PORT in hex, as /proc/net/tcp{,6} print it, as nft prints a set element's: `ADDRESS.PORT`. */
function endOf(hex: string): string {
  const [address = '', port = ''] = hex.split(':');
  const bytes = (address.match(/.{8}/g) ?? []).flatMap((word) => {
    const n = parseInt(word, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
  });
  // IPv4, or IPv4 mapped into IPv6 (::ffff:a.b.c.d), which CRIU locks as IPv4.
  const v4 = bytes.length === 4 ? bytes : bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255 ? bytes.slice(12) : undefined;
  const groups = bytes.map((b) => b.toString(16).padStart(2, '0')).join('').match(/.{4}/g) ?? [];
  // A URL writes an IPv6 address in its shortest form, as nft does.
  const text = v4 ? v4.join('.') : new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
  return `${text}.${parseInt(port, 16)}`;
}

/**
 * Deletes CRIU's tables in the namespace of `rootPid` whose set holds one of `connections`: an
 * element is `ADDRESS . PORT . ADDRESS . PORT`, each connection in both directions. (A tree's
 * peer on the same host has the same elements: only a run id tells their locks apart.)
 */
async function deleteTablesLocking(rootPid: number, connections: Set<string>): Promise<void> {
  if (connections.size === 0) return;
  for (const table of await criuTablesIn(rootPid)) {
    const rules = String((await inNetnsOf(rootPid, ['nft', 'list', 'table', 'inet', table])).stdout ?? '');
    const locks = [...rules.matchAll(/([0-9a-f.:]+) \. (\d+) \. ([0-9a-f.:]+) \. (\d+)/g)].some(([, a, p, b, q]) => connections.has(`${a}.${p}|${b}.${q}`));
    if (locks) await inNetnsOf(rootPid, ['nft', 'delete', 'table', 'inet', table]);
  }
}

/** The nftables tables of CRIU's locks (`inet CRIU-…`) in the network namespace of `rootPid`. */
async function criuTablesIn(rootPid: number): Promise<string[]> {
  const listed = await inNetnsOf(rootPid, ['nft', 'list', 'tables', 'inet']);
  return [...String(listed.stdout ?? '').matchAll(/^table inet (CRIU-[0-9a-f-]+)$/gm)].map((match) => match[1] as string);
}

/** Runs argv in the network namespace of `rootPid`; its exit code says how it went. */
function inNetnsOf(rootPid: number, argv: string[]) {
  return command('nsenter', [`--net=/proc/${rootPid}/ns/net`, ...argv], { reject: false });
}

function safeReadlink(file: string): string {
  try {
    return readlinkSync(file);
  } catch {
    return '';
  }
}

/** Deletes the nftables table of the lock of dump `runId` in the network namespace at `netns`: CRIU cuts its name, `inet CRIU-<run id>`, to 31 characters. */
async function deleteLockTable(netns: string, runId: string): Promise<void> {
  await command('nsenter', [`--net=${netns}`, 'nft', 'delete', 'table', 'inet', `CRIU-${runId.slice(0, 21)}`], { reject: false });
}
