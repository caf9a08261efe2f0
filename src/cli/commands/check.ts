import type { Command } from 'commander';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';
import type { Context } from '../context.js';
import { buildSnapshotIfStale, startUpCheck } from '../start-up.js';

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

export function register(program: Command, context: Context): void {
  program
    .command('check')
    .description('report whether this machine can checkpoint: CRIU, kernel features, settings, and fixes')
    .option('--fix', "apply the fixes that are safe to apply (fs.pipe-max-size, CRIU, the CLI's start-up snapshot)")
    .option('--criu <path>', 'the criu binary to use')
    .action(async (flags: { fix?: boolean; criu?: string }) => {
      const { check } = await import('../../check.js');
      const report = await check({ fix: flags.fix, criu: flags.criu });
      report.items.push(startUpCheck(undefined, flags.fix === true && buildSnapshotIfStale()));
      const lines = report.items.map((item) => {
        const fix = item.fix ? `\n         fix: ${item.fix}` : '';
        return `  ${MARK[item.status]}  ${item.title}: ${item.detail}${fix}`;
      });
      const verdict = report.ok ? 'This machine can checkpoint and restore.' : 'This machine cannot checkpoint yet: see FAIL above.';
      context.out.result(report, [...lines, '', verdict].join('\n'));
      context.exitCode = report.ok ? EXIT_OK : EXIT_FAILURE;
    });
}
