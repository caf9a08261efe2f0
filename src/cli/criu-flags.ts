// The CRIU flags shared by dump and restore, spelled as criu spells them.
import { Option, type Command } from 'commander';
import type { CriuOptions } from '../criu/options.js';
import type { Output } from './output.js';

export interface CriuFlagValues {
  tcpEstablished?: boolean;
  shellJob?: boolean;
  extUnixSk?: boolean;
  fileLocks?: boolean;
  linkRemap?: boolean;
  manageCgroups?: boolean;
  external?: string[];
  networkLock?: CriuOptions['networkLock'];
  logLevel?: string;
  workDir?: string;
  timeout?: string;
  criu?: string;
}

export function addCriuFlags(command: Command): Command {
  return command
    .option('--tcp-established', 'checkpoint/restore established TCP connections')
    .option('--shell-job', 'allow a process attached to a terminal, not a session leader')
    .option('--ext-unix-sk', 'allow unix sockets connected outside the tree')
    .option('--file-locks', 'checkpoint/restore file locks')
    .option('--link-remap', 'allow open files that were unlinked')
    .option('--manage-cgroups', 'dump/restore cgroups')
    .option('--external <resource...>', "external resources, as criu's --external")
    .addOption(new Option('--network-lock <method>', 'how CRIU blocks the network while frozen').choices(['iptables', 'nftables', 'skip']))
    .addOption(new Option('-v, --log-level <n>', "CRIU's log level, 0-4").choices(['0', '1', '2', '3', '4']))
    .option('-W, --work-dir <dir>', "where CRIU's log and statistics go (default: the images directory)")
    .option('--timeout <ms>', 'kill CRIU if it takes longer (last resort)')
    .option('--criu <path>', 'the criu binary to use');
}

/** Flags to options, with a notification display and Ctrl-C wired to a clean abort. */
export function criuOptionsFrom(flags: CriuFlagValues, out: Output, signal: AbortSignal): CriuOptions {
  return {
    tcpEstablished: flags.tcpEstablished,
    shellJob: flags.shellJob,
    extUnixSk: flags.extUnixSk,
    fileLocks: flags.fileLocks,
    linkRemap: flags.linkRemap,
    manageCgroups: flags.manageCgroups,
    external: flags.external,
    networkLock: flags.networkLock,
    logLevel: flags.logLevel === undefined ? undefined : (Number(flags.logLevel) as CriuOptions['logLevel']),
    workDir: flags.workDir,
    timeoutMs: flags.timeout === undefined ? undefined : Number(flags.timeout),
    criu: flags.criu,
    signal,
    onNotification: process.stderr.isTTY ? (n) => out.note(`  · ${n.name}`) : undefined,
  };
}
