// migrateContainer(): a runc container to another host's `freezedry receive`, in every mode a
// process tree moves in (migrate/source.ts, the same protocol and safety rules): rounds with
// the dirty tracker attached to the container's processes, the freeze through runc (paused,
// its veths off their bridges), its spec and file changes sent with its images, and its
// network rebuilt there with the same addresses and MACs. The container stays paused here,
// never lost, until the destination runs it; every failure before that resumes it.
import { once } from 'node:events';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LAZY_PAGES_IN_PLACE_ENVIRONMENT } from '../criu/locate.js';
import { sayGoodbyeOnEnd } from '../criu/page-server-goodbye.js';
import { command } from '../process/command.js';
import { ErrorCode, FreezedryError, abortError } from '../errors.js';
import { bundleFiles } from '../migrate/image-bundle.js';
import type { MessageChannel } from '../migrate/message-channel.js';
import { migrateSubject, validateMigrateOptions, type MigrateOptions, type MigrateResult } from '../migrate/source.js';
import type { Held, MigrationSubject } from '../migrate/subject.js';
import { assertRoot } from '../process/privileges.js';
import { validateContainerId } from './bundle.js';
import { checkpointContainerHeld, containerFacts, runningContainer, writeContainerFiles, type RunningContainer } from './checkpoint.js';
import type { ContainerFacts } from './layout.js';
import type { OciSpec } from './spec.js';
import { PausedContainer } from './pause.js';
import { ROOTFS_DIFF } from './rootfs-diff.js';
import { Runc, withCriuErrors, type RuncOptions } from './runc.js';

export type ContainerMigrateOptions = Omit<MigrateOptions, 'shellJob' | 'extUnixSk' | 'linkRemap' | 'networkLock'> & RuncOptions;

export async function migrateContainer(id: string, options: ContainerMigrateOptions): Promise<MigrateResult> {
  validateContainerId(id);
  validateMigrateOptions(options);
  assertRoot('migrate a container');
  const runc = await Runc.open(options);
  const container = await runningContainer(runc, id);
  if (options.tcpEstablished && !container.network?.veths.length) {
    throw new FreezedryError(
      ErrorCode.INVALID_ARG_VALUE,
      `The container '${id}' has no network namespace of its own with a veth: its TCP connections cannot keep their address on another host`,
      { id },
    );
  }
  const criuOptions = { tcpEstablished: options.tcpEstablished === true, fileLocks: options.fileLocks === true };
  const facts = await containerFacts(container, criuOptions, false);
  return migrateSubject(containerSubject(runc, container, facts), { ...options, networkLock: undefined });
}

/**
 * What a migration's destination is told in 'hello' about a container: enough to check it can
 * take it and to prepare its bundle (overlay, network namespace, veths) while it still runs here.
 */
export interface ContainerHello {
  id: string;
  facts: ContainerFacts;
  spec: OciSpec;
}

function containerSubject(runc: Runc, container: RunningContainer, facts: ContainerFacts): MigrationSubject {
  const { id, state } = container;
  const { criuOptions } = facts;
  // The top of the checkpoint the lazy dump writes: images in checkpoint/, the container's files beside.
  let top: string | undefined;
  const hello: ContainerHello = { id, facts, spec: container.spec };
  // Leaves this host: its bundle (overlay, network namespace) goes with it.
  const moving = (paused: PausedContainer): Held => ({
    pids: paused.pids,
    resume: () => paused.resume(),
    end: () => paused.end({ remove: container.record !== undefined }),
    guard: () => paused.guard(),
  });
  return {
    kind: 'container',
    pid: state.pid,
    hello: { container: hello },
    async dumpArchive(file) {
      const { result, paused } = await checkpointContainerHeld(runc, container, facts, { archive: file, archiveOptions: { sync: false }, ...criuOptions });
      return { held: moving(paused), summary: `checkpointed container ${id} into ${result.archive?.bytes} bytes` };
    },
    async lazyDump({ imagesDir, port, abandon, onFrozen, onImages, onServing }) {
      // The images go in checkpoint/ (as in every container checkpoint), the container's files beside.
      const work = path.dirname(imagesDir);
      top = work;
      await mkdir(imagesDir, { recursive: true });
      const pausing = PausedContainer.duringDump(runc, id, state.pid, { unplug: true });
      let runcPid: number | undefined;
      let finished = false;
      // Killing runc's CRIU (its child) lets go of the container in the middle of its dump, its
      // sockets in repair mode (resume() undoes that); a page session that nobody will use ends
      // as a client's goodbye would first (criu/page-server-goodbye.ts), and CRIU finishes.
      const stop = () => {
        if (runcPid === undefined || finished) return;
        const pid = runcPid;
        void command('pkill', ['-KILL', '-P', String(pid)], { reject: false }).then(() => {
          try {
            if (!finished) process.kill(pid, 'SIGKILL');
          } catch {
            // it ended meanwhile
          }
        });
      };
      const served = new AbortController(); // the destination went, or the images did not
      const endServing = (reason: unknown) => served.abort(reason);
      // Before CRIU serves (its status byte), an abandon waits for it: a kill mid-dump could
      // leave its parasite in the container's processes.
      let serving = false;
      const onAbandon = () => {
        if (serving) endServing(abandon.reason);
      };
      abandon.addEventListener('abort', onAbandon, { once: true });
      const goodbye = sayGoodbyeOnEnd(served.signal, '127.0.0.1', port);
      goodbye.kill.addEventListener('abort', stop, { once: true });
      const logFile = path.join(work, 'dump.log');
      let failure: unknown;
      const done = runc
        .exec(
          `runc checkpoint --lazy-pages ${id}`,
          {
            args: [
              'checkpoint',
              '--image-path', imagesDir,
              '--work-path', work,
              '--leave-running',
              '--lazy-pages',
              '--page-server', `127.0.0.1:${port}`,
              '--status-fd', '3',
              ...(criuOptions.tcpEstablished ? ['--tcp-established'] : []),
              ...(criuOptions.fileLocks ? ['--file-locks'] : []),
              id,
            ],
            // runc's CRIU listens for the destination's pulls on the address its configuration names:
            // loopback only (the RPC's own address is ignored for lazy pages); the relay admits the destination.
            criuConfig: ['address 127.0.0.1', ...(pausing.call.criuConfig ?? [])],
            criuActionScript: pausing.call.criuActionScript,
            // runc's CRIU inherits runc's environment: it leaves the pages in place (checkpoint.ts).
            env: { ...pausing.call.env, ...LAZY_PAGES_IN_PLACE_ENVIRONMENT },
            onSpawn: (pid) => (runcPid = pid),
            // CRIU writes one byte once its images are written and it serves the memory.
            onStatus: (status) => {
              void once(status, 'data').then(async () => {
                serving = true;
                if (abandon.aborted) return endServing(abandon.reason);
                try {
                  await files;
                  await onImages();
                  onServing();
                } catch (error) {
                  failure = error;
                  endServing(error); // CRIU serves nobody: the dump fails, with this as its cause
                }
              });
            },
          },
          ErrorCode.CRIU_DUMP_FAILED,
        )
        .then(
          () => {
            if (failure) throw failure;
            if (served.signal.aborted) throw abortError(served.signal);
          },
          async (error: unknown) => {
            throw failure ?? (await withCriuErrors(error, logFile));
          },
        )
        .finally(() => {
          finished = true;
          abandon.removeEventListener('abort', onAbandon);
          goodbye.dispose();
        });
      const pausedNow = pausing.paused(done, stop);
      // Paused, its files cannot change: they are written while runc dumps.
      const files = pausedNow.then(() => writeContainerFiles(container, work, facts));
      files.catch(() => {}); // awaited once the images are written
      const paused = await pausedNow;
      onFrozen?.();
      const held = moving(paused);
      return { held, done };
    },
    async sendExtras(channel: MessageChannel) {
      if (!top) throw new FreezedryError(ErrorCode.MIGRATION_FAILED, 'internal: the container files were not written');
      const { files, bytes } = bundleFiles(top, CONTAINER_FILES);
      channel.sendBytes({ type: 'container-files', files }, bytes);
      const diff = path.join(top, ROOTFS_DIFF);
      await channel.sendFile({ type: 'rootfs-diff' }, diff, (await stat(diff)).size);
    },
  };
}

/** The small files of a container checkpoint that travel in one message (rootfs-diff.tar streams on its own). */
export const CONTAINER_FILES = ['spec.dump', 'deleted.files', 'freezedry-container.json'];
