import type { Command } from 'commander';
import type { Context } from '../context.js';

export function register(program: Command, context: Context): void {
  program
    .command('run')
    .description('start a workload in its own pid (and net) namespace, so it can be restored beside itself or migrated')
    .option('--net', 'also give it its own network namespace (loopback up)')
    .option('--log <file>', 'where its stdout and stderr go')
    .argument('<command...>', 'the command and its arguments (put them after --)')
    .action(async (command: string[], flags: { net?: boolean; log?: string }) => {
      const { run } = await import('../../run.js');
      const result = await run(command, { net: flags.net, logFile: flags.log });
      context.out.result(result, String(result.pid));
      context.out.note(`started ${command.join(' ')} as pid ${result.pid}${flags.net ? ' (own net namespace)' : ''}; output in ${result.logFile}`);
    });
}
