import { describe, expect, it } from 'vitest';
import { describeFailure, errorLines, tailLines } from '../../src/criu/log.js';

const log = [
  "Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
  '(00.012345)      1: Error (criu/sk-inet.c:1059): inet: Can\'t bind inet socket (id 26): Address already in use',
  '     1: Error (criu/files.c:1221): Unable to open fd=18 id=0x1a',
  'Warn  (criu/kerndat.c:1): something harmless',
  'Error (criu/cr-restore.c:2331): Restoring FAILED.',
].join('\n');

describe('CRIU log reading', () => {
  it('keeps real error lines, without timestamps or pids, and never the RLIMIT_NOFILE line', () => {
    expect(errorLines(log)).toEqual([
      "Error (criu/sk-inet.c:1059): inet: Can't bind inet socket (id 26): Address already in use",
      'Error (criu/files.c:1221): Unable to open fd=18 id=0x1a',
      'Error (criu/cr-restore.c:2331): Restoring FAILED.',
    ]);
  });

  it('describes a failure with the first lines and the log path', () => {
    const text = describeFailure(errorLines(log), '/x/restore.log');
    expect(text).toMatch(/^Error \(criu\/sk-inet\.c:1059\)/);
    expect(text).toContain('[log: /x/restore.log]');
    expect(describeFailure([], '/x/y.log', tailLines('(0.1) a\n(0.2) b\n', 3))).toBe('a; b [log: /x/y.log]');
    expect(describeFailure([], '/x/y.log')).toBe('CRIU logged no error [log: /x/y.log]');
  });
});
