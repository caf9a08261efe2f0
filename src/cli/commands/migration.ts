// receive, migrate: moving a live tree between hosts.
import type { Command } from 'commander';
import { ErrorCode, ValidationError } from '../../errors.js';
import { MIGRATION_FLAGS, type CriuSwitch, type MigrationSwitch } from '../../criu/options.js';
import type { DirtyTracking, MigrateOptions, MigrateResult, MigrationMode } from '../../migrate/source.js';
import { addSwitches } from '../criu-flags.js';
import { ms } from '../output.js';
import type { Context } from '../context.js';

function address(text: string): { host: string; port: number } {
  const match = text.match(/^(.*):(\d+)$/);
  if (!match) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `expected HOST:PORT, got '${text}'`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(match[2]) };
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `${flag} must be a positive number of milliseconds, got '${text}'`);
  return value;
}

function token(given: string | undefined): string {
  const value = given ?? process.env.FREEZEDRY_TOKEN;
  if (!value) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'a shared token is needed: --token or FREEZEDRY_TOKEN');
  return value;
}

export function register(program: Command, context: Context): void {
  program
    .command('receive')
    .description('the destination agent of migrations: authenticates, checks, restores')
    .requiredOption('--listen <host:port>', 'where to listen')
    .option('--token <secret>', 'the shared token (default: $FREEZEDRY_TOKEN)')
    .option('--bridge <name>', "the bridge that a tree's own network namespace is plugged into here")
    .option('--runc-root <dir>', "runc's state directory for containers that arrive (runc --root)")
    .option('--tls-cert <file>', "this agent's certificate (PEM), for mutual TLS instead of a key derived from the token")
    .option('--tls-key <file>', "this agent's private key (PEM)")
    .option('--tls-ca <file>', "the CA (PEM) a source's certificate must chain to")
    .option('--link-timeout <ms>', 'silence from a source after which its migration fails', '10000')
    .option('--once', 'stop after one migration')
    .action(async (flags: { listen: string; token?: string; bridge?: string; runcRoot?: string; linkTimeout: string; once?: boolean } & TlsFlags) => {
      const where = address(flags.listen);
      const { receive } = await import('../../migrate/destination.js');
      const receiver = await receive({
        ...where,
        token: token(flags.token),
        tls: tlsFiles(flags),
        bridge: flags.bridge,
        runcRoot: flags.runcRoot,
        linkTimeoutMs: positive(flags.linkTimeout, '--link-timeout'),
        once: flags.once,
        log: (line) => (context.out.json ? process.stdout.write(`${JSON.stringify({ event: line })}\n`) : process.stderr.write(`${line}\n`)),
      });
      context.signal.addEventListener('abort', () => void receiver.close());
      await receiver.closed;
      const failed = receiver.migrations.find((m) => m.error);
      if (flags.once && failed?.error) throw failed.error;
    });

  addSwitches(
    withMigrationFlags(
      program
        .command('migrate')
        .description('move a live process tree to a host running `freezedry receive`')
        .argument('<pid>', 'the root of the tree'),
    ),
    (_name, migrates) => migrates,
  ).action(async (pidText: string, flags: MigrationFlags) => {
      if (!/^\d+$/.test(pidText)) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `pid must be a number, got '${pidText}'`);
      const { migrate } = await import('../../migrate/source.js');
      const result = await migrate(Number(pidText), migrationOptions(flags, context));
      context.out.result(result, migrationSummary(result, `pid ${pidText}`, flags.to));
    });
}

/** The switches a container's migration takes (runc's own flags); a process's takes every migrating one. */
const CONTAINER_SWITCHES: CriuSwitch[] = ['tcpEstablished', 'fileLocks'];

export type MigrationFlags = { [K in MigrationSwitch]?: boolean } & MigrationSettingFlags;

interface MigrationSettingFlags extends TlsFlags {
  to: string;
  token?: string;
  mode: string;
  downtime: string;
  dirtyTracking: string;
  probe?: string;
  replayFrames: boolean;
  timeout?: string;
  linkTimeout: string;
}

/** The options process and container migrations share. */
export function withMigrationFlags(command: Command): Command {
  return command
    .requiredOption('--to <host:port>', 'the destination agent')
    .option('--token <secret>', 'the shared token (default: $FREEZEDRY_TOKEN)')
    .option('--mode <mode>', 'auto, stop-copy, pre-copy, post-copy or hybrid', 'auto')
    .option('--downtime <ms>', 'the downtime budget auto and pre-copy rounds aim at', '300')
    .option('--dirty-tracking <how>', "how pre-copy rounds track writes: auto, uffd (userfaultfd, Linux 6.7+) or soft-dirty (CRIU's pre-dump)", 'auto')
    .option('--probe <url>', 'an http:// URL of the service to GET every 10 ms: reports the downtime a client saw')
    .option('--no-replay-frames', "do not hold the TCP frames sent to a tree with its own network namespace while it is frozen for the destination to inject")
    .option('--timeout <ms>', 'give up (resuming the source) if the destination has not restored by then')
    .option('--link-timeout <ms>', 'silence from the destination after which the migration fails (the source resumes)', '10000')
    .option('--tls-cert <file>', "this agent's certificate (PEM), for mutual TLS instead of a key derived from the token")
    .option('--tls-key <file>', "this agent's private key (PEM)")
    .option('--tls-ca <file>', "the CA (PEM) the destination's certificate must chain to");
}

interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** The certificate files, when any is given (the transport checks that all three are). */
function tlsFiles(flags: TlsFlags): MigrateOptions['tls'] {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined && flags.tlsCa === undefined) return undefined;
  return { cert: flags.tlsCert as string, key: flags.tlsKey as string, ca: flags.tlsCa as string };
}

/** withMigrationFlags and the switches a container's migration takes. */
export function withContainerMigrationFlags(command: Command): Command {
  return addSwitches(withMigrationFlags(command), (name) => CONTAINER_SWITCHES.includes(name));
}

export function migrationOptions(flags: MigrationFlags, context: Context): MigrateOptions {
  return {
    to: address(flags.to),
    token: token(flags.token),
    tls: tlsFiles(flags),
    mode: flags.mode as MigrationMode | 'auto',
    downtimeMs: positive(flags.downtime, '--downtime'),
    dirtyTracking: flags.dirtyTracking as DirtyTracking,
    probe: flags.probe,
    replayFrames: flags.replayFrames,
    timeoutMs: flags.timeout ? positive(flags.timeout, '--timeout') : undefined,
    linkTimeoutMs: positive(flags.linkTimeout, '--link-timeout'),
    ...Object.fromEntries(MIGRATION_FLAGS.map((name) => [name, flags[name]])),
    log: (line) => context.out.note(line),
    signal: context.signal,
  };
}

export function migrationSummary(result: MigrateResult, what: string, to: string): string {
  const steps = result.freezeSteps;
  const rounds = result.rounds?.length ? `, ${result.rounds.length} pre-copy round(s) tracked with ${result.dirtyTracking}` : '';
  return (
    `Migrated ${what} (${result.mode}${rounds}): pid ${result.destinationPid} on ${to}, frozen ${ms(result.frozenMs)}` +
    (steps ? ` (CRIU's dump ${ms(steps.dumpMs)}, last pages ${ms(steps.finalMs)}, images ${ms(steps.imagesMs)}, restore ${ms(steps.restoreMs)})` : '') +
    ', ' +
    `${(result.bytesSent / 1048576).toFixed(1)} MiB sent, ${ms(result.totalMs)} until the source ended` +
    (result.framesReplayed ? `; ${result.framesReplayed} TCP frame(s) sent to it while frozen replayed there` : '') +
    (result.clientDowntimeMs !== undefined ? `; the probe saw a longest gap of ${ms(result.clientDowntimeMs)}` : '')
  );
}
