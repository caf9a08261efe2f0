// CRIU's inventory image: what freezedry reads of it is the dump's run id, which names the
// network lock CRIU leaves on a tree it dumped to stay stopped (criu/netfilter.c).
import path from 'node:path';
import { decodeMessage, messageType, schemaRoot } from '../protobuf.js';
import { ImageMagic, readImage } from './image-file.js';

const root = schemaRoot();
root.add(messageType('InventoryEntry', [['dumpCriuRunId', 13, 'string']]));
root.resolveAll();
const InventoryEntry = root.lookupType('InventoryEntry');

/** The run id of the CRIU dump whose images are in `dir`; undefined when it cannot be read (no inventory yet, an old CRIU). */
export async function readDumpRunId(dir: string): Promise<string | undefined> {
  try {
    const image = await readImage(path.join(dir, 'inventory.img'), ImageMagic.INVENTORY);
    const entry = image.entries[0] ? decodeMessage<{ dumpCriuRunId?: string }>(InventoryEntry, image.entries[0]) : undefined;
    return entry?.dumpCriuRunId || undefined;
  } catch {
    return undefined;
  }
}
