// container run | ls | rm | checkpoint | restore: OCI containers through runc.
import type { Command } from 'commander';
import { ms } from '../output.js';
import type { ArchiveCompression } from '../../archive/archive-builder.js';
import { archiveSize, BUFFER_HELP, bytesOf, COMPRESSION_HELP, progressBar } from '../progress.js';
import type { Context } from '../context.js';

// What the container commands run, loaded only when one runs.
const api = () => import('../../index.js');
import { migrationOptions, migrationSummary, withContainerMigrationFlags, type MigrationFlags } from './migration.js';

interface RuncFlags {
  runcRoot?: string;
  criu?: string;
}

const runcFlags = (command: Command) =>
  command.option('--runc-root <dir>', "runc's state directory (runc --root)").option('--criu <path>', 'the CRIU runc runs (default: freezedry\'s own)');

export function register(program: Command, context: Context): void {
  const container = program.command('container').description('checkpoint, restore and run OCI containers through runc');

  runcFlags(
    container
      .command('run')
      .description('start a container whose rootfs is an overlay over the read-only DIR (its changes are then known)')
      .requiredOption('--rootfs <dir>', 'the image rootfs (read-only; the container writes to an overlay)')
      .option('--name <id>', 'the container ID (default: fd- and 8 hex digits)')
      .option('--net', 'a network namespace of its own (loopback only); by default it shares the host\'s')
      .option('-e, --env <name=value...>', 'environment variables')
      .option('-w, --cwd <dir>', 'working directory inside the container')
      .argument('<command...>', 'the command to run in it'),
  ).action(async (command: string[], flags: RuncFlags & { rootfs: string; name?: string; net?: boolean; env?: string[]; cwd?: string }) => {
    const env = Object.fromEntries((flags.env ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    const info = await (await api()).runContainer(command, { rootfs: flags.rootfs, id: flags.name, net: flags.net, env, cwd: flags.cwd, runcRoot: flags.runcRoot, criu: flags.criu });
    context.out.result(info, `${info.id} running, pid ${info.pid} (bundle ${info.bundle}, log ${info.logFile})`);
  });

  runcFlags(container.command('ls').description('list containers: runc\'s and the bundles freezedry keeps')).action(async (flags: RuncFlags) => {
    const list = await (await api()).listContainers(flags);
    const rows = list.map((c) => `${c.id.padEnd(20)} ${c.status.padEnd(9)} ${String(c.pid || '-').padEnd(8)} ${c.managed ? 'freezedry' : 'runc     '} ${c.bundle}`);
    context.out.result(list, list.length === 0 ? 'no containers' : [`${'ID'.padEnd(20)} ${'STATUS'.padEnd(9)} PID      MADE BY   BUNDLE`, ...rows].join('\n'));
  });

  runcFlags(
    container.command('rm').description('remove containers (runc state and freezedry bundle)').option('-f, --force', 'stop a running one first').argument('<id...>'),
  ).action(async (ids: string[], flags: RuncFlags & { force?: boolean }) => {
    const removed = [];
    for (const id of ids) removed.push(await (await api()).removeContainer(id, flags));
    context.out.result({ removed }, removed.map((c) => `removed ${c.id}`).join('\n'));
  });

  runcFlags(
    container
      .command('checkpoint')
      .description('checkpoint a container into a directory, an archive or the store (Podman\'s layout)')
      .argument('<id>')
      .option('-D, --images-dir <dir>', 'a new or empty directory')
      .option('-o, --output <file>', 'one compressed, seekable archive (.tar.zst)')
      .option('--name <name>', 'keep it in the local checkpoint store under this name')
      .option('--level <n>', 'zstd level for archives', '1')
      .option('--compression <mode>', COMPRESSION_HELP, 'full')
      .option('--buffer <size>', BUFFER_HELP)
      .option('--overwrite', 'replace an existing archive')
      .option('-R, --leave-running', 'leave the container running')
      .option('--tcp-established', 'checkpoint established TCP connections')
      .option('--file-locks', 'checkpoint file locks')
      .option('--with-rootfs', 'carry the whole rootfs (a container freezedry did not start)')
      .option('--print-stats', "print CRIU's statistics"),
  ).action(
    async (
      id: string,
      flags: RuncFlags & { imagesDir?: string; output?: string; name?: string; level: string; compression: string; buffer?: string; overwrite?: boolean; leaveRunning?: boolean; tcpEstablished?: boolean; fileLocks?: boolean; withRootfs?: boolean; printStats?: boolean },
    ) => {
      const bar = progressBar(context.out, 'checkpointing');
      const result = await (await api()).checkpointContainer(id, {
        ...flags,
        onProgress: ({ bytes, estimatedBytes }) => bar.update(bytes, estimatedBytes),
        imagesDir: flags.imagesDir,
        archive: flags.output,
        name: flags.name,
        archiveOptions: { level: Number(flags.level), compression: flags.compression as ArchiveCompression, bufferBytes: bytesOf(flags.buffer), overwrite: flags.overwrite },
        signal: context.signal,
      }).finally(() => bar.stop());
      const where = result.archive ? `${result.archive.file} (${archiveSize(result.archive)})` : result.imagesDir;
      const s = result.stats;
      context.out.result(
        result,
        [
          `Checkpointed ${id} into ${where} in ${ms(result.durationMs)}${result.leftRunning ? '; it keeps running' : ''}`,
          `  rootfs: ${result.rootfsChanges.changed} path(s) changed, ${result.rootfsChanges.deleted} deleted`,
          flags.printStats && s ? `  frozen ${ms(s.frozenTimeMs)}, memory dump ${ms(s.memdumpTimeMs)}, write ${ms(s.memwriteTimeMs)}, ${s.pagesWritten} of ${s.pagesScanned} pages written` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    },
  );

  runcFlags(
    container
      .command('restore')
      .description('restore a container checkpoint, as its own ID or a new one beside the original')
      .argument('[new-id]', 'the restored container\'s ID (default: the checkpointed one\'s)')
      .option('-D, --images-dir <dir>', 'a checkpoint directory')
      .option('-i, --input <file>', 'an archive made by container checkpoint -o')
      .option('--name <name>', 'a checkpoint in the local store')
      .option('--rootfs <dir>', 'the rootfs to restore over (default: the one it ran over)')
      .option('--lazy', 'run at once and bring its memory behind it (stays until all is in)')
      .option('--force', 'restore over a rootfs that differs from the checkpointed one'),
  ).action(async (newId: string | undefined, flags: RuncFlags & { imagesDir?: string; input?: string; name?: string; rootfs?: string; lazy?: boolean; force?: boolean }) => {
    const result = await (await api()).restoreContainer({ ...flags, archive: flags.input, id: newId, signal: context.signal });
    const { lazy, ...printable } = result;
    if (lazy) {
      context.out.note(`${result.id} is running (restored in ${ms(result.durationMs)}); bringing its memory in…`);
      const bar = progressBar(context.out, 'filling');
      const timer = setInterval(() => bar.update(lazy.stats().bytesCopied, lazy.stats().pagesTotal * 4096), 100);
      const fill = await lazy.fill.finally(() => {
        clearInterval(timer);
        bar.stop();
      });
      Object.assign(printable, { fill });
      context.out.note(`memory complete: ${fill.pagesCopied} pages, ${fill.faults} faults served`);
    }
    context.out.result(printable, `Restored ${result.id}, pid ${result.pid}, in ${ms(result.durationMs)} (bundle ${result.bundle})`);
  });

  runcFlags(
    withContainerMigrationFlags(
      container
        .command('migrate')
        .description('move a running container to a host running `freezedry receive` (every mode of process migration)')
        .argument('<id>'),
    ),
  ).action(async (id: string, flags: RuncFlags & MigrationFlags) => {
    const result = await (await api()).migrateContainer(id, { ...migrationOptions(flags, context), runcRoot: flags.runcRoot, criu: flags.criu });
    context.out.result(result, migrationSummary(result, `container ${id}`, flags.to));
  });
}
