// export, import: between image directories and archives.
import type { Command } from 'commander';
import type { ArchiveCompression } from '../../archive/archive-builder.js';
import { archiveSize, COMPRESSION_HELP, progressBar } from '../progress.js';
import type { Context } from '../context.js';

export function register(program: Command, context: Context): void {
  program
    .command('export')
    .description('pack an image directory into one compressed, seekable archive')
    .argument('<dir>', 'the image directory')
    .requiredOption('-o, --output <file>', 'the archive to write (.tar.zst)')
    .option('--level <n>', 'zstd level (1 fast … 19 small)', '1')
    .option('--compression <mode>', COMPRESSION_HELP, 'full')
    .option('--overwrite', 'replace an existing archive')
    .action(async (dir: string, flags: { output: string; level: string; compression: string; overwrite?: boolean }) => {
      const { exportArchive } = await import('../../archive/transfer.js');
      const bar = progressBar(context.out, 'exporting');
      const result = await exportArchive(dir, flags.output, {
        level: Number(flags.level),
        compression: flags.compression as ArchiveCompression,
        overwrite: flags.overwrite,
        onProgress: ({ bytes, totalBytes }) => bar.update(bytes, totalBytes),
      }).finally(() => bar.stop());
      context.out.result(result, `Exported ${dir} into ${result.file} (${archiveSize(result)})`);
    });

  program
    .command('import')
    .description('unpack an archive into an image directory (checking every checksum)')
    .argument('<file>', 'the archive')
    .requiredOption('-D, --images-dir <dir>', 'a new or empty directory')
    .action(async (file: string, flags: { imagesDir: string }) => {
      const { importArchive } = await import('../../archive/transfer.js');
      const bar = progressBar(context.out, 'importing');
      const result = await importArchive(file, flags.imagesDir, { onProgress: ({ bytes, totalBytes }) => bar.update(bytes, totalBytes) }).finally(() => bar.stop());
      context.out.result(result, `Imported ${file} into ${result.imagesDir} (${result.entries} files)`);
    });
}
