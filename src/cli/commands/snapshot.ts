import type { Command } from 'commander';
import { ms } from '../output.js';
import type { Context } from '../context.js';

interface SnapshotFlags {
  imagesDir?: string;
  output?: string;
  name?: string;
  exit?: boolean;
  timeout?: string;
}

export function register(program: Command, context: Context): void {
  program
    .command('snapshot')
    .description('ask a Node process that called acceptSnapshotRequests() to snapshot itself, hooks and all (restore its copies with restore)')
    .argument('<pid>', 'the process (host pid)', (value: string) => Number(value))
    .option('-D, --images-dir <dir>', 'into this new or empty directory')
    .option('-o, --output <file>', 'into this compressed archive')
    .option('--name <name>', 'into the local store')
    .option('--exit', 'end the process with its snapshot (default: it keeps running)')
    .option('--timeout <ms>', 'how long to wait for the outcome (default 600000)')
    .action(async (pid: number, flags: SnapshotFlags) => {
      const { requestSnapshot } = await import('../../snapshot/requests.js');
      const started = performance.now();
      const result = await requestSnapshot(pid, {
        imagesDir: flags.imagesDir,
        archive: flags.output,
        name: flags.name,
        leaveRunning: !flags.exit,
        timeoutMs: flags.timeout === undefined ? undefined : Number(flags.timeout),
      });
      const where = flags.imagesDir ?? flags.output ?? `the store as '${flags.name}'`;
      context.out.result(result, `pid ${pid} snapshotted itself into ${where} in ${ms(performance.now() - started)}`);
    });
}
