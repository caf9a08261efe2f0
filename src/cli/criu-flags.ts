// The CRIU flags shared by dump and restore, spelled as criu spells them.
import { Option, type Command } from 'commander';
import { CRIU_SWITCHES, type CriuOptions, type CriuSwitch } from '../criu/options.js';
import type { Output } from './output.js';

export type CriuFlagValues = { [K in CriuSwitch]?: boolean } & CriuSettingFlags;

interface CriuSettingFlags {
  external?: string[];
  networkLock?: CriuOptions['networkLock'];
  logLevel?: string;
  workDir?: string;
  timeout?: string;
  criu?: string;
}

/** The switches `which` picks (all of them by default), as criu spells them. */
export function addSwitches(command: Command, which: (name: CriuSwitch, migrates: boolean) => boolean = () => true): Command {
  for (const { name, flag, help, migrates } of CRIU_SWITCHES) if (which(name, migrates)) command.option(flag, help);
  return command;
}

/** The switches set among `flags`. */
export function switchesFrom(flags: { [K in CriuSwitch]?: boolean }): { [K in CriuSwitch]?: boolean } {
  return Object.fromEntries(CRIU_SWITCHES.map(({ name }) => [name, flags[name]]));
}

export function addCriuFlags(command: Command): Command {
  return addSwitches(command)
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
    ...switchesFrom(flags),
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
