// Undoing CRIU's lock on a tree that shares its host's network namespace without the dump's run
// id (a CRIU that died before it wrote its inventory): the tables whose set holds one of the
// tree's connections go, and no other.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { releaseCriuLocks } from '../../src/process/criu-locks.js';
import { canCheckpoint } from '../helpers/capabilities.js';
import { echoService } from '../helpers/sockets.js';
import { useWorkspace } from '../helpers/workloads.js';

const enabled = await canCheckpoint();

describe.runIf(enabled)("CRIU's locks", () => {
  const { dir, track } = useWorkspace();

  it("without a run id, deletes CRIU's tables that lock one of the tree's connections, and no other", async () => {
    const echo = await echoService(path.join(dir(), 'echo.log'), track);
    const nft = (...args: string[]) => execFileSync('nft', args, { encoding: 'utf8' });
    // Sets only, no chains: they hold elements as CRIU's do, and drop nothing.
    const table = (name: string, element: string) => {
      nft('add', 'table', 'inet', name);
      nft('add', 'set', 'inet', name, 'conns4', '{ type ipv4_addr . inet_service . ipv4_addr . inet_service; }');
      nft('add', 'element', 'inet', name, 'conns4', `{ ${element} }`);
    };
    const [ours, other] = [`CRIU-${randomBytes(4).toString('hex')}-0001`, `CRIU-${randomBytes(4).toString('hex')}-0002`];
    try {
      table(ours, echo.connection());
      table(other, '127.0.0.1 . 1 . 127.0.0.1 . 2');
      await releaseCriuLocks(echo.pid, [echo.pid]);
      const tables = nft('list', 'tables', 'inet');
      expect(tables).not.toContain(ours);
      expect(tables).toContain(other);
    } finally {
      for (const name of [ours, other]) spawnSync('nft', ['delete', 'table', 'inet', name]); // gone already, or left
      echo.close();
    }
  });
});
