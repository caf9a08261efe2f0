// ls, rm: the local checkpoint store.
import type { Command } from 'commander';
import { listCheckpoints, removeCheckpoint, storeRoot } from '../../store.js';
import { mib } from '../progress.js';
import type { Context } from '../main.js';

export function register(program: Command, context: Context): void {
  program
    .command('ls')
    .description(`list the checkpoints in the local store ($FREEZEDRY_STORE, default ${storeRoot()})`)
    .action(async () => {
      const list = await listCheckpoints();
      const rows = list.map((c) => `${c.name.padEnd(24)} ${c.createdAt.padEnd(25)} ${mib(c.bytes).padStart(11)}  pid ${String(c.pid ?? '-').padEnd(7)} ${String(c.tasks).padStart(3)} task(s)  ${c.command}`);
      context.out.result(list, list.length === 0 ? `no checkpoints in ${storeRoot()}` : [`${'NAME'.padEnd(24)} ${'CREATED'.padEnd(25)} ${'SIZE'.padStart(11)}  PID          TASKS     COMMAND`, ...rows].join('\n'));
    });

  program
    .command('rm')
    .description('remove checkpoints from the local store')
    .argument('<name...>', 'checkpoint names')
    .action(async (names: string[]) => {
      const removed: string[] = [];
      for (const name of names) removed.push(await removeCheckpoint(name));
      context.out.result({ removed }, removed.map((file) => `removed ${file}`).join('\n'));
    });
}
