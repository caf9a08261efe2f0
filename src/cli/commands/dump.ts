import type { Command } from 'commander';
import type { ArchiveCompression } from '../../archive/archive-builder.js';
import { ErrorCode, ValidationError } from '../../errors.js';
import { addCriuFlags, criuOptionsFrom, type CriuFlagValues } from '../criu-flags.js';
import { ms } from '../output.js';
import { archiveSize, BUFFER_HELP, bytesOf, COMPRESSION_HELP, progressBar } from '../progress.js';
import type { Context } from '../context.js';

interface DumpFlags extends CriuFlagValues {
  imagesDir?: string;
  output?: string;
  name?: string;
  level?: string;
  compression?: string;
  buffer?: string;
  overwrite?: boolean;
  leaveRunning?: boolean;
  trackMem?: boolean;
  preDump?: boolean;
  prevImagesDir?: string;
}

export function register(program: Command, context: Context): void {
  addCriuFlags(
    program
      .command('dump')
      .description('checkpoint a process tree into an image directory, an archive, or the store')
      .argument('<pid>', 'the root of the tree')
      .option('-D, --images-dir <dir>', 'a new or empty directory for the images')
      .option('-o, --output <file>', 'one compressed, seekable archive (.tar.zst) instead of a directory')
      .option('--name <name>', 'keep it in the local checkpoint store under this name')
      .option('--level <n>', 'zstd level for archives (1 fast … 19 small; negative is faster)', '1')
      .option('--compression <mode>', COMPRESSION_HELP, 'full')
      .option('--buffer <size>', BUFFER_HELP)
      .option('--overwrite', 'replace an existing archive')
      .option('-R, --leave-running', 'leave the tree running after the dump')
      .option('--track-mem', 'track memory changes for incremental dumps (needs soft-dirty)')
      .option('--pre-dump', 'dump only memory and leave the tree running, for a later dump with --prev-images-dir (needs soft-dirty)')
      .option('--prev-images-dir <dir>', 'images of an earlier dump, relative to the images directory'),
  ).action(async (pidText: string, flags: DumpFlags) => {
    if (!/^\d+$/.test(pidText)) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `pid must be a number, got '${pidText}'`);
    const pid = Number(pidText);
    const { checkpoint } = await import('../../checkpoint.js');
    const bar = progressBar(context.out, 'dumping');
    const result = await checkpoint(pid, {
      ...criuOptionsFrom(flags, context.out, context.signal),
      imagesDir: flags.imagesDir,
      archive: flags.output,
      name: flags.name,
      archiveOptions: { level: Number(flags.level), compression: flags.compression as ArchiveCompression, bufferBytes: bytesOf(flags.buffer), overwrite: flags.overwrite },
      leaveRunning: flags.leaveRunning,
      trackMem: flags.trackMem,
      preDump: flags.preDump,
      parentImages: flags.prevImagesDir,
      onProgress: ({ bytes, estimatedBytes }) => bar.update(bytes, estimatedBytes),
    }).finally(() => bar.stop());
    const s = result.stats;
    const where = result.archive
      ? `${result.archive.file} (${archiveSize(result.archive)})`
      : result.imagesDir;
    context.out.result(
      result,
      [
        `Dumped pid ${pid} (${result.pids.length} task${result.pids.length === 1 ? '' : 's'}) into ${where} in ${ms(result.durationMs)}` +
          (result.leftRunning ? '; it keeps running' : ''),
        s ? `  frozen ${ms(s.frozenTimeMs)}, memory dump ${ms(s.memdumpTimeMs)}, write ${ms(s.memwriteTimeMs)}, ${s.pagesWritten} of ${s.pagesScanned} pages written` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  });
}
