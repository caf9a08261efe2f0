// What a self-snapshot records beside its images, so that its restore can feed each copy: the
// inodes of the two pipes the process held to its snapshot agent. A copy reads whether it was
// restored (and its environment) from the first, and reports its after-restore hooks on the
// second; CRIU's inherit-fd puts the restorer's own pipes in their place.
import path from 'node:path';
import { migrationCriuOptions, type CriuOptions } from '../criu/options.js';
import { readSmallFile } from '../images/image-file.js';

export const SNAPSHOT_FILE = 'snapshot.json';
const SNAPSHOT_FORMAT = 'freezedry-snapshot/1';

export interface SnapshotFacts {
  format: typeof SNAPSHOT_FORMAT;
  /** The pid that snapshotted itself (as its own pid namespace saw it). */
  pid: number;
  /** The pipe the process reads its restore context from: CRIU's key is pipe:[INODE]. */
  contextPipe: number;
  /** The pipe the process writes its after-restore report to. */
  reportPipe: number;
  /** CRIU's switches the dump used that its restore needs too (e.g. shellJob). */
  criu: CriuOptions;
}

export function snapshotFacts(pid: number, contextPipe: number, reportPipe: number, criu: CriuOptions): SnapshotFacts {
  return { format: SNAPSHOT_FORMAT, pid, contextPipe, reportPipe, criu: migrationCriuOptions(criu) };
}

export function isSnapshotFacts(value: unknown): value is SnapshotFacts {
  const facts = value as Partial<SnapshotFacts> | undefined;
  return (
    typeof facts === 'object' &&
    facts !== null &&
    facts.format === SNAPSHOT_FORMAT &&
    [facts.pid, facts.contextPipe, facts.reportPipe].every((n) => Number.isSafeInteger(n) && (n as number) > 0)
  );
}

/** The facts of a snapshot's image directory, or undefined for a plain checkpoint. */
export async function readSnapshotFacts(imagesDir: string): Promise<SnapshotFacts | undefined> {
  let text: string;
  try {
    text = readSmallFile(path.join(imagesDir, SNAPSHOT_FILE)).toString('utf8');
  } catch {
    return undefined;
  }
  try {
    const facts: unknown = JSON.parse(text);
    return isSnapshotFacts(facts) ? { ...facts, criu: migrationCriuOptions(facts.criu) } : undefined;
  } catch {
    return undefined;
  }
}
