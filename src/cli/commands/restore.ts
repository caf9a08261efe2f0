import type { Command } from 'commander';
import { restore } from '../../restore.js';
import { addCriuFlags, criuOptionsFrom, type CriuFlagValues } from '../criu-flags.js';
import { ms } from '../output.js';
import { progressBar } from '../progress.js';
import type { Context } from '../main.js';

interface RestoreFlags extends CriuFlagValues {
  imagesDir?: string;
  input?: string;
  name?: string;
  force?: boolean;
  attach?: boolean;
}

export function register(program: Command, context: Context): void {
  addCriuFlags(
    program
      .command('restore')
      .description('restore a process tree from an image directory, an archive or the store (detached by default)')
      .option('-D, --images-dir <dir>', 'the images of a checkpoint')
      .option('-i, --input <file>', 'an archive made by dump -o or export')
      .option('--name <name>', 'a checkpoint in the local store')
      .option('--force', 'restore even if the archive comes from an incompatible-looking host')
      .option('--attach', 'stay the parent of the restored tree and exit with its status'),
  ).action(async (flags: RestoreFlags) => {
    const bar = progressBar(context.out, 'unpacking');
    const result = await restore({
      ...criuOptionsFrom(flags, context.out, context.signal),
      imagesDir: flags.imagesDir,
      archive: flags.input,
      name: flags.name,
      force: flags.force,
      detach: !flags.attach,
      onProgress: ({ bytes, totalBytes }) => bar.update(bytes, totalBytes),
    }).finally(() => bar.stop());
    const s = result.stats;
    const { exited, ...printable } = result;
    context.out.result(
      printable,
      [
        `Restored pid ${result.pid} from ${result.archive ?? result.imagesDir} in ${ms(result.durationMs)}`,
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
