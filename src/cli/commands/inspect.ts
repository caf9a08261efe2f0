import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { mib } from '../progress.js';
import type { Context } from '../context.js';

export function register(program: Command, context: Context): void {
  program
    .command('inspect')
    .description('show what a checkpoint holds: processes, memory, files and sockets, sizes, statistics, source host')
    .argument('<target>', 'an archive, an image directory, or a name in the store')
    .action(async (target: string) => {
      const [{ inspect }, { findStored }] = await Promise.all([import('../../inspect.js'), import('../../store.js')]);
      const where = existsSync(target) ? target : await findStored(target).catch(() => target);
      const report = await inspect(where);
      const lines = [`${report.kind} ${report.path}`];
      if (report.createdAt) lines.push(`  created ${report.createdAt} on ${report.source?.hostname} (kernel ${report.source?.kernel}, CRIU ${report.source?.criuVersion}, ${report.source?.arch})`);
      const c = report.container;
      if (c) lines.push(`  container ${c.name ?? c.id ?? '?'} (${c.engine}${c.image ? `, image ${c.image}` : ''}${c.runtime ? `, runtime ${c.runtime}` : ''}), rootfs diff ${mib(c.rootfsDiffBytes)}, ${c.deletedFiles} deleted path(s)`);
      if (report.command) lines.push(`  command: ${report.command}${report.pid !== undefined ? ` (host pid ${report.pid})` : ''}`);
      lines.push('processes:');
      for (const t of report.tasks) lines.push(`  pid ${t.pid} (parent ${t.ppid}, session ${t.sid}) ${t.comm}, ${t.threads} thread${t.threads === 1 ? '' : 's'}`);
      lines.push(`memory: ${mib(report.memory.dumpedBytes)} dumped`);
      for (const [kind, m] of Object.entries(report.memory.byKind)) lines.push(`  ${kind.padEnd(17)} ${mib(m.dumpedBytes).padStart(10)} dumped of ${mib(m.mappedBytes)} mapped`);
      lines.push(`files and sockets: ${report.files.length}`);
      for (const f of report.files) lines.push(`  ${f.kind.padEnd(13)} ${f.description}`);
      const s = report.sizes;
      lines.push(`size: ${mib(s.imagesBytes)} of images${s.archiveBytes ? `, ${mib(s.archiveBytes)} archive (${((s.compressionRatio ?? 1) * 100).toFixed(0)}%)` : ''}`);
      if (report.criuStats) {
        const c = report.criuStats;
        lines.push(`CRIU: frozen ${c.frozenTimeMs.toFixed(1)} ms, memory dump ${c.memdumpTimeMs.toFixed(1)} ms, write ${c.memwriteTimeMs.toFixed(1)} ms, ${c.pagesWritten}/${c.pagesScanned} pages written`);
      }
      context.out.result(report, lines.join('\n'));
    });
}
