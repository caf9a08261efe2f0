import type { Command } from 'commander';
import { checkpoint } from '../../checkpoint.js';
import { ErrorCode, ValidationError } from '../../errors.js';
import { addCriuFlags, criuOptionsFrom, type CriuFlagValues } from '../criu-flags.js';
import { ms } from '../output.js';
import type { Context } from '../main.js';

interface DumpFlags extends CriuFlagValues {
  imagesDir: string;
  leaveRunning?: boolean;
  trackMem?: boolean;
  prevImagesDir?: string;
}

export function register(program: Command, context: Context): void {
  addCriuFlags(
    program
      .command('dump')
      .description('checkpoint a process tree into an image directory')
      .argument('<pid>', 'the root of the tree')
      .requiredOption('-D, --images-dir <dir>', 'a new or empty directory for the images')
      .option('-R, --leave-running', 'leave the tree running after the dump')
      .option('--track-mem', 'track memory changes for incremental dumps (needs soft-dirty)')
      .option('--prev-images-dir <dir>', 'images of an earlier dump, relative to the images directory'),
  ).action(async (pidText: string, flags: DumpFlags) => {
    const pid = Number(pidText);
    if (!/^\d+$/.test(pidText)) throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `pid must be a number, got '${pidText}'`);
    const result = await checkpoint(pid, {
      ...criuOptionsFrom(flags, context.out, context.signal),
      imagesDir: flags.imagesDir,
      leaveRunning: flags.leaveRunning,
      trackMem: flags.trackMem,
      parentImages: flags.prevImagesDir,
    });
    const s = result.stats;
    context.out.result(
      result,
      [
        `Dumped pid ${pid} (${result.pids.length} task${result.pids.length === 1 ? '' : 's'}) into ${result.imagesDir} in ${ms(result.durationMs)}` +
          (result.leftRunning ? '; it keeps running' : ''),
        s ? `  frozen ${ms(s.frozenTimeMs)}, memory dump ${ms(s.memdumpTimeMs)}, write ${ms(s.memwriteTimeMs)}, ${s.pagesWritten} of ${s.pagesScanned} pages written` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  });
}
