// Ending a restored copy whose original runs on elsewhere (a migration that failed after the
// restore here, a lazy fill that cannot finish): when the copy has a network namespace of its
// own, its links go down first, so the resets its kernel sends for its TCP connections reach no
// client. Those connections belong to the original again.
import { spawnSync } from 'node:child_process';
import { processTree, signalEach } from './proc.js';

/** sh: downs every link but lo in the network namespace of pid "$1", unless it is this shell's own. */
export const SILENCE_NETWORK_SCRIPT =
  'ns=/proc/$1/ns/net; if [ -e "$ns" ] && [ "$(readlink "$ns")" != "$(readlink /proc/$$/ns/net)" ]; then ' +
  'for l in $(nsenter --net="$ns" ip -o link show | sed -n "s/^[0-9]*: \\([^:@]*\\).*/\\1/p"); do ' +
  '[ "$l" = lo ] || nsenter --net="$ns" ip link set dev "$l" down; done; fi; ';

/** Takes the network of `pid`'s own namespace down (nothing when it shares ours). */
export function silenceNetwork(pid: number): void {
  spawnSync('sh', ['-c', SILENCE_NETWORK_SCRIPT, 'sh', String(pid)], { stdio: 'ignore', timeout: 5000 });
}

/** Ends the tree of `rootPid` without a word on the network. */
export function endTreeQuietly(rootPid: number): void {
  silenceNetwork(rootPid);
  signalEach(processTree(rootPid).reverse(), 'SIGKILL');
}
