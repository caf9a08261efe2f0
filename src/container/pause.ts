// A container held still for a checkpoint that must not lose it: runc pauses it (the cgroup
// freezer, which CRIU's dump leaves as it found it) and, when it moves to another host, its
// veths leave their bridges, so that nothing reaches it (no data its kernel would acknowledge
// after the dump) nor its copy's address twice. resume() undoes both; end() removes it.
import type { Held } from '../migrate/subject.js';
import { processTree } from '../process/proc.js';
import { afterThisProcessDies } from '../process/watchdog.js';
import { removeBundle } from './bundle.js';
import { pluggedVeths, type UnpluggedNetwork } from './network.js';
import type { Runc } from './runc.js';

export class PausedContainer implements Held {
  readonly pids: number[];

  private constructor(
    private readonly runc: Runc,
    private readonly id: string,
    pid: number,
    private readonly network: UnpluggedNetwork | undefined,
  ) {
    this.pids = processTree(pid);
  }

  /**
   * Pauses the container (init `pid`); `unplug`: then its veths leave their bridges too (not
   * before: what it sends while it still runs would be lost, and its client would wait for a
   * retransmission). Which veths is read before it pauses.
   */
  static async pause(runc: Runc, id: string, pid: number, options: { unplug: boolean }): Promise<PausedContainer> {
    const veths = options.unplug ? pluggedVeths(pid) : undefined;
    await runc.exec(`runc pause ${id}`, { args: ['pause', id] });
    const network = await veths?.unplug().catch(async (error: unknown) => {
      await runc.exec(`runc resume ${id}`, { args: ['resume', id] }).catch(() => {});
      throw error;
    });
    return new PausedContainer(runc, id, pid, network);
  }

  /**
   * Options for the CRIU that dumps it. With its veths unplugged nothing reaches it or leaves
   * it, which is all CRIU's network lock would ensure (iptables rules in its namespace, set and
   * removed by four iptables-restore runs: 50-80 ms of the freeze here); a restore takes the
   * method from the images, so its copy, whose veths join their bridges only once it runs, skips
   * it too.
   */
  criuConfig(): string[] {
    return this.network ? ['network-lock skip'] : [];
  }

  async resume(): Promise<void> {
    await this.network?.replug();
    await this.runc.exec(`runc resume ${this.id}`, { args: ['resume', this.id] }).catch(() => {});
  }

  /** Ends it (its veths first: no reset of its connections reaches a client); `remove`: its bundle too. */
  async end(options: { remove?: boolean } = {}): Promise<void> {
    await this.network?.cut();
    await this.runc.destroy(this.id);
    if (options.remove) await removeBundle(this.id);
  }

  /** Should this process die while the container is paused, a watchdog resumes it (for a minute: CRIU may hold it a while). */
  guard(): () => void {
    const replug = this.network?.commands ?? [];
    const script =
      'runc="$1"; root="$2"; id="$3"; shift 3; i=0; while [ $i -lt 120 ]; do "$runc" --root "$root" resume "$id" 2>/dev/null; ' +
      'for link in "$@"; do ip link set ${link%%=*} master ${link#*=} 2>/dev/null; done; sleep 0.5; i=$((i+1)); done';
    return afterThisProcessDies(script, [this.runc.path, this.runc.root, this.id, ...replug]);
  }
}
