// What a CRIU dump leaves on a tree it leaves stopped, for a move: its network locked (with a
// namespace of its own: with nftables, the provisioned CRIU's method, a table `inet CRIU-<its run
// id>` there that drops everything; with iptables, a CRIU chain INPUT and OUTPUT jump to) and,
// with established connections, its TCP sockets in repair mode (nothing sent or acknowledged).
// CRIU undoes both only when the tree goes on running after the dump. A tree whose move then
// failed is resumed: before that, this undoes them, or it would reach nobody and nobody it.
// (A tree in the host's namespace has each TCP connection locked there instead, under the run id
// of the dump: those locks are not removed here.)
import { native } from '../native/binding.js';
import { command } from './command.js';
import { hasOwnNetns } from './proc.js';

/** Undoes the locks of a dump on the tree of `rootPid` (its processes: `pids`), before it resumes. */
export async function releaseCriuLocks(rootPid: number, pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      native().releaseRepairedSockets(pid);
    } catch {
      // gone meanwhile
    }
  }
  await removeNetworkLock(rootPid);
}

/** Removes CRIU's network locks from the namespace of the tree of `rootPid`, when it has one of its own. */
async function removeNetworkLock(rootPid: number): Promise<void> {
  let own: boolean;
  try {
    own = hasOwnNetns(rootPid);
  } catch {
    return; // gone
  }
  if (!own) return;
  const inTreeNetns = (argv: string[]) => command('nsenter', [`--net=/proc/${rootPid}/ns/net`, ...argv], { reject: false });
  // Only CRIU's dumps of this tree put tables of that name in its private namespace.
  const listed = await inTreeNetns(['nft', 'list', 'tables', 'inet']);
  for (const [, table] of String(listed.stdout ?? '').matchAll(/^table inet (CRIU-[0-9a-f-]+)$/gm)) {
    await inTreeNetns(['nft', 'delete', 'table', 'inet', table as string]);
  }
  for (const tables of ['iptables', 'ip6tables']) {
    for (const chain of ['INPUT', 'OUTPUT']) await inTreeNetns([tables, '-w', '-D', chain, '-j', 'CRIU']);
    await inTreeNetns([tables, '-w', '-F', 'CRIU']);
    await inTreeNetns([tables, '-w', '-X', 'CRIU']);
  }
}

