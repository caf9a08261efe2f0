// A container held still for a checkpoint that must not lose it: runc pauses it (the cgroup
// freezer, which CRIU's dump leaves as it found it) and, when it moves to another host, its
// veths leave their bridges, so that nothing reaches it (no data its kernel would acknowledge
// after the dump) nor its copy's address twice. resume() undoes both; end() removes it.
//
// The pause happens inside runc's checkpoint, as the first step of its CRIU's dump (CRIU's
// pre-dump action, before it seizes anything): runc starting and its CRIU checking its version
// and features (~17 ms here), and the spawns freezedry made between pausing it, unplugging it
// and starting runc, then pass while the container still runs.
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Held } from '../migrate/subject.js';
import { native } from '../native/binding.js';
import { releaseCriuLocks } from '../process/criu-locks.js';
import { processTree } from '../process/proc.js';
import { afterThisProcessDies, lockReleaser } from '../process/watchdog.js';
import { ErrorCode, FreezedryError } from '../errors.js';
import { removeBundle } from './bundle.js';
import { bridgedVeths, type BridgedVeths } from './network.js';
import type { Runc, RuncCall } from './runc.js';

/**
 * CRIU runs this at every step of a dump; at pre-dump it pauses the container through runc,
 * takes its veths off their bridges (OUTER=BRIDGE pairs) and says so on freezedry's pipe.
 * Any failure undoes what it did, says why, and fails the dump before anything was dumped.
 */
const PAUSE_AT_PRE_DUMP = `#!/bin/sh
[ "$CRTOOLS_SCRIPT_ACTION" = pre-dump ] || exit 0
PATH="$PATH:/usr/sbin:/sbin:/usr/bin:/bin"
fail() { printf '%s' "$1" | tr '\\n' ' ' > "$FREEZEDRY_TELL"; echo >> "$FREEZEDRY_TELL"; exit 1; }
runc() { "$FREEZEDRY_RUNC" --root "$FREEZEDRY_RUNC_ROOT" "$@" 2>&1; }
said=$(runc pause "$FREEZEDRY_ID") || fail "runc pause failed: $said"
if [ -n "$FREEZEDRY_UNPLUG" ]; then
  if ! said=$(for pair in $FREEZEDRY_UNPLUG; do echo "link set \${pair%%=*} nomaster"; done | ip -batch - 2>&1); then
    for pair in $FREEZEDRY_UNPLUG; do echo "link set \${pair%%=*} master \${pair#*=}"; done | ip -force -batch - >/dev/null 2>&1
    runc resume "$FREEZEDRY_ID" >/dev/null
    fail "could not take its veths off their bridges: $said"
  fi
fi
echo paused > "$FREEZEDRY_TELL"
`;

/** A pause that runc's checkpoint makes (see PausedContainer.duringDump). */
export interface PauseDuringDump {
  /** What the runc checkpoint call carries for it. */
  call: Pick<RuncCall, 'criuConfig' | 'criuActionScript' | 'env'>;
  /**
   * The container, paused, once `dump` (that runc checkpoint) paused it. Rejects when the dump
   * settles first, or the pause failed: the container then runs (a failed pause undid itself,
   * anything else is undone here), and the dump has ended (`stop` ends one that would go on)
   * before it rejects. The pipe closes once the dump ends.
   */
  paused(dump: Promise<unknown>, stop?: () => void): Promise<PausedContainer>;
}

export class PausedContainer implements Held {
  readonly pids: number[];

  private constructor(
    private readonly runc: Runc,
    private readonly id: string,
    private readonly pid: number,
    private readonly network: BridgedVeths | undefined,
  ) {
    this.pids = processTree(pid);
  }

  /**
   * Pauses the container (init `pid`) as runc's checkpoint begins its dump, and with `unplug`
   * then takes its veths off their bridges (not before: what it sends while it still runs would
   * be lost, and its client would wait for a retransmission), all before CRIU seizes it. Which
   * veths is read now.
   *
   * With its veths off, nothing reaches it or leaves it, which is all CRIU's network lock would
   * ensure (iptables rules in its namespace, set and removed by four iptables-restore runs:
   * 50-80 ms of the freeze here), so its CRIU skips the lock; a restore takes the method from
   * the images, so its copy, whose veths join their bridges only once it runs, skips it too.
   */
  static duringDump(runc: Runc, id: string, pid: number, options: { unplug: boolean }): PauseDuringDump {
    const network = options.unplug ? bridgedVeths(pid) : undefined;
    const [told, tell] = native().pipe();
    // Read until its last writer closes (once the dump ends). As a socket: a file stream would
    // hold a thread of libuv's pool in read() all the while.
    const words = new Socket({ fd: told, readable: true, writable: false }).setEncoding('utf8');
    let said = '';
    const heard = new Promise<string>((resolve) => {
      words.on('data', (chunk) => {
        said += String(chunk);
        if (said.includes('\n')) resolve(said.split('\n')[0] as string);
      });
      words.on('error', () => resolve('its pipe failed'));
    });
    const container = () => new PausedContainer(runc, id, pid, network);
    return {
      call: {
        criuConfig: network ? ['network-lock skip'] : [],
        criuActionScript: PAUSE_AT_PRE_DUMP,
        env: {
          FREEZEDRY_TELL: `/proc/${process.pid}/fd/${tell}`,
          FREEZEDRY_RUNC: runc.path,
          FREEZEDRY_RUNC_ROOT: runc.root,
          FREEZEDRY_ID: id,
          FREEZEDRY_UNPLUG: network?.pairs.join(' ') ?? '',
        },
      },
      paused: async (dump, stop) => {
        const ended = dump.then(
          () => new FreezedryError(ErrorCode.RUNC_FAILED, `runc's dump of '${id}' ended without pausing it`, { id }),
          (error: unknown) => error,
        );
        // Its last writer (besides the script's own opens): the read end closes itself then.
        void ended.then(() => closeSync(tell));
        const first = await Promise.race([heard.then((line) => ({ line })), ended.then((error) => ({ error }))]);
        if ('line' in first && first.line === 'paused') return container();
        // Whatever the dump left (a pause it could not report), the container runs on.
        await container().resume();
        stop?.(); // a dump of a container that runs on is of no use
        await ended; // nothing of it may land after the caller's clean-up
        if ('error' in first) throw first.error;
        throw new FreezedryError(ErrorCode.RUNC_FAILED, `Could not pause the container '${id}' for its dump: ${first.line}`, { id });
      },
    };
  }

  async resume(): Promise<void> {
    // A runc whose CRIU was killed mid-dump (--leave-running: CRIU undoes them when it finishes)
    // leaves its sockets in repair mode, and its network lock: unread, one would be lost.
    await releaseCriuLocks(this.pid, this.pids);
    await this.network?.replug();
    await this.runc.exec(`runc resume ${this.id}`, { args: ['resume', this.id] }).catch(() => {});
  }

  /** Ends it (its veths first: no reset of its connections reaches a client); `remove`: its bundle too. */
  async end(options: { remove?: boolean } = {}): Promise<void> {
    await this.network?.cut();
    await this.runc.destroy(this.id, { pids: this.pids });
    if (options.remove) await removeBundle(this.id);
  }

  /**
   * Should this process die while the container is paused, a watchdog resumes it (for a minute:
   * CRIU may hold it a while), once what a killed CRIU left on it is undone (resume-held-tree.ts).
   */
  guard(): () => void {
    const replug = this.network?.pairs ?? [];
    const [node, releaser] = lockReleaser();
    const script =
      'node="$1"; releaser="$2"; pids="$3"; runc="$4"; root="$5"; id="$6"; shift 6; "$node" "$releaser" --no-signal "" $pids 2>/dev/null; ' +
      'i=0; while [ $i -lt 120 ]; do "$runc" --root "$root" resume "$id" 2>/dev/null; ' +
      'for link in "$@"; do ip link set ${link%%=*} master ${link#*=} 2>/dev/null; done; sleep 0.5; i=$((i+1)); done';
    return afterThisProcessDies(script, [node as string, releaser as string, this.pids.join(' '), this.runc.path, this.runc.root, this.id, ...replug]);
  }
}
