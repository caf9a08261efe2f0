import { InvalidArgumentError, type Command } from 'commander';
import { addCriuFlags, criuOptionsFrom, type CriuFlagValues } from '../criu-flags.js';
import { ms } from '../output.js';
import { progressBar } from '../progress.js';
import type { Context } from '../context.js';

interface RestoreFlags extends CriuFlagValues {
  imagesDir?: string;
  input?: string;
  name?: string;
  force?: boolean;
  attach?: boolean;
  lazy?: boolean;
  env?: string[];
  netNs?: boolean;
}

function parseEnv(values: string[] | undefined): Record<string, string> | undefined {
  if (!values) return undefined;
  const env: Record<string, string> = {};
  for (const item of values) {
    const at = item.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`--env takes KEY=VALUE, got '${item}'`);
    env[item.slice(0, at)] = item.slice(at + 1);
  }
  return env;
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
      .option('--lazy', 'run the tree at once and bring its memory behind it (stays until all pages are in); each process then holds its own copy of pages it shared with its parent (a full restore keeps that sharing). The default for a snapshot')
      .option('--no-lazy', 'a full restore, also of a snapshot')
      .option('--env <KEY=VALUE>', "a snapshot's copy: a variable its afterRestore hooks see (repeatable)", (value: string, list: string[] = []) => [...list, value])
      .option('--net-ns', "a snapshot's copy: a network namespace of its own, with only loopback")
      .option('--attach', 'stay the parent of the restored tree and exit with its status'),
  ).action(async (flags: RestoreFlags) => {
    const { restore } = await import('../../restore.js');
    const bar = progressBar(context.out, 'unpacking');
    const result = await restore({
      ...criuOptionsFrom(flags, context.out, context.signal),
      imagesDir: flags.imagesDir,
      archive: flags.input,
      name: flags.name,
      force: flags.force,
      detach: !flags.attach,
      lazy: flags.lazy,
      env: parseEnv(flags.env),
      netns: flags.netNs,
      onProgress: ({ bytes, totalBytes }) => bar.update(bytes, totalBytes),
    }).finally(() => bar.stop());
    const s = result.stats;
    const { exited, lazy, ...printable } = result;
    if (result.instance) {
      context.out.note(`pid ${result.pid} is a new copy (pid ${result.instance.namespacePid} in its own namespace), ready in ${ms(result.durationMs)}`);
    }
    if (lazy) {
      // The pages come from this process: it stays until every one is in place.
      context.out.note(`pid ${result.pid} is running (restored in ${ms(result.durationMs)}); bringing its memory in…`);
      const fillBar = progressBar(context.out, 'filling');
      const timer = setInterval(() => {
        const c = lazy.stats();
        fillBar.update(c.bytesCopied, c.pagesTotal * 4096);
      }, 100);
      const fill = await lazy.fill.finally(() => {
        clearInterval(timer);
        fillBar.stop();
      });
      Object.assign(printable, { fill });
      context.out.note(`memory complete: ${fill.pagesCopied} pages in ${ms(fill.completeMs - fill.restoredMs)} after the restore, ${fill.faults} faults served`);
    }
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
