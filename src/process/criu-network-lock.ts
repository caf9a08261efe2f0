// CRIU locks the network of a tree with a namespace of its own while it dumps it: with nftables
// (the provisioned CRIU's method) a table `inet CRIU-<its run id>` in that namespace that drops
// everything, with iptables a CRIU chain that INPUT and OUTPUT jump to. It removes the lock only
// when the tree goes on running after the dump. A tree it left stopped for a move that then
// failed keeps it: resumed, it would reach nobody and nobody it. This removes it before the tree
// resumes. (A tree in the host's namespace has each TCP connection locked there instead, under
// the run id of the dump; those locks are not removed here.)
import { readlinkSync } from 'node:fs';
import { command } from './command.js';

/** Removes CRIU's network locks from the namespace of the tree of `rootPid`, when it has one of its own. */
export async function removeCriuNetworkLock(rootPid: number): Promise<void> {
  if (!ownNetns(rootPid)) return;
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

/** Whether the tree of `rootPid` has a network namespace other than this process's. */
function ownNetns(rootPid: number): boolean {
  try {
    return readlinkSync(`/proc/${rootPid}/ns/net`) !== readlinkSync('/proc/self/ns/net');
  } catch {
    return false;
  }
}
