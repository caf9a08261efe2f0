// ls, rm: the local checkpoint store.
import type { Command } from 'commander';
import { mib } from '../progress.js';
import { DEFAULT_STORE, storeRoot } from '../../store-root.js';
import type { Context } from '../context.js';

export function register(program: Command, context: Context): void {
  program
    .command('ls')
    .description(`list the checkpoints in the local store ($FREEZEDRY_STORE, default ${DEFAULT_STORE})`)
    // Read when the help is shown: the program is built ahead, in the CLI's start-up snapshot.
    .addHelpText('after', () => `\nThe store here: ${storeRoot()}`)
    .action(async () => {
      const { listCheckpoints } = await import('../../store.js');
      const list = await listCheckpoints();
      const rows = list.map(
        (c) =>
          `${c.name.padEnd(24)} ${c.kind.padEnd(9)} ${c.createdAt.padEnd(25)} ${mib(c.bytes).padStart(11)}  ${(c.container ? c.container : `pid ${c.pid ?? '-'}`).padEnd(20)} ${String(c.tasks).padStart(3)} task(s)  ${c.command}`,
      );
      context.out.result(
        list,
        list.length === 0
          ? `no checkpoints in ${storeRoot()}`
          : [`${'NAME'.padEnd(24)} ${'KIND'.padEnd(9)} ${'CREATED'.padEnd(25)} ${'SIZE'.padStart(11)}  ${'PID / CONTAINER'.padEnd(20)} TASKS     COMMAND`, ...rows].join('\n'),
      );
    });

  program
    .command('rm')
    .description('remove checkpoints from the local store')
    .argument('<name...>', 'checkpoint names')
    .action(async (names: string[]) => {
      const { removeCheckpoint } = await import('../../store.js');
      const removed: string[] = [];
      for (const name of names) removed.push(await removeCheckpoint(name));
      context.out.result({ removed }, removed.map((file) => `removed ${file}`).join('\n'));
    });
}
