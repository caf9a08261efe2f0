// Where a lazy restore from an images directory takes its pages: the directory's pages images,
// or a migration source's page server, with the pages a pre-copy already brought here served
// from their file first.
import { constants, openSync } from 'node:fs';
import path from 'node:path';
import { directorySource, type ImageSource } from '../images/image-source.js';
import { parsePstree } from '../images/memory-images.js';
import { planLazyRestore, type LazyPlan } from './lazy-plan.js';
import type { LazySource } from './lazy-server.js';

export interface RemotePages {
  /** A `criu dump --lazy-pages` source (through freezedry's relay, with its ticket). */
  pageServer: { address: string; port: number; ticket?: Buffer };
  /** Pages already here (a pre-copy migration's); `route` rewrites the plan to take them from `file` (image 0). */
  preCopied?: { file: string; route(plan: LazyPlan): LazyPlan };
}

/** The plan and the page source; the files it opens are pushed onto `opened` (the caller closes them). */
export async function directoryLazySource(imagesDir: string, remote: RemotePages | undefined, opened: number[]): Promise<{ plan: LazyPlan; source: LazySource }> {
  let plan = await planLazyRestore(directorySource(imagesDir), { remote: remote !== undefined });
  if (!remote) {
    for (const name of plan.images) opened.push(openSync(path.join(imagesDir, name), constants.O_RDONLY));
    return { plan, source: { files: opened } };
  }
  const pulled = { ...remote.pageServer, pids: plan.pids };
  if (!remote.preCopied) return { plan, source: { remote: pulled } };
  plan = remote.preCopied.route(plan);
  opened.push(openSync(remote.preCopied.file, constants.O_RDONLY));
  return { plan, source: { files: opened, remote: pulled } };
}

/**
 * A single process shares no page with another, so even a full restore loses nothing if its
 * pages go from an archive straight into it through userfaultfd (none unpacked first).
 */
export async function sharesNoPages(images: ImageSource): Promise<boolean> {
  const pstree = await images.read('pstree.img');
  return pstree !== undefined && parsePstree(pstree).length === 1;
}
