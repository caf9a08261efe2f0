import type { Command } from 'commander';
import { restore } from '../../restore.js';
import { addCriuFlags, criuOptionsFrom, type CriuFlagValues } from '../criu-flags.js';
import { ms } from '../output.js';
import type { Context } from '../main.js';

interface RestoreFlags extends CriuFlagValues {
  imagesDir: string;
  attach?: boolean;
}

export function register(program: Command, context: Context): void {
  addCriuFlags(
    program
      .command('restore')
      .description('restore a process tree from an image directory (detached by default)')
      .requiredOption('-D, --images-dir <dir>', 'the images of a checkpoint')
      .option('--attach', 'stay the parent of the restored tree and exit with its status'),
  ).action(async (flags: RestoreFlags) => {
    const result = await restore({
      ...criuOptionsFrom(flags, context.out, context.signal),
      imagesDir: flags.imagesDir,
      detach: !flags.attach,
    });
    const s = result.stats;
    const { exited, ...printable } = result;
    context.out.result(
      printable,
      [
        `Restored pid ${result.pid} from ${result.imagesDir} in ${ms(result.durationMs)}`,
        s ? `  CRIU restore ${ms(s.restoreTimeMs)}, ${s.pagesRestored} pages restored` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    if (exited) {
      const status = await exited;
      context.out.note(`pid ${result.pid} ${status.signal ? `was killed by signal ${status.signal}` : `exited with status ${status.code}`}`);
      context.exitCode = status.signal ? 128 + status.signal : status.code;
    }
  });
}
