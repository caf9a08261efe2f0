// Containers for the tests: a busybox rootfs (no registry needed) holding a static C service.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { compileC } from '../../src/bench/compile-c.js';
import { repoRoot } from './workloads.js';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'sleep', 'cat', 'echo', 'ls', 'rm', 'mkdir', 'touch', 'true'];

/** A minimal rootfs: busybox and its applets, the service in /usr/bin, /etc with two files. */
export async function busyboxRootfs(dir: string): Promise<string> {
  for (const sub of ['bin', 'usr/bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'data']) await mkdir(path.join(dir, sub), { recursive: true });
  await copyFile(BUSYBOX, path.join(dir, 'bin/busybox'));
  for (const applet of APPLETS) await symlink('busybox', path.join(dir, 'bin', applet));
  const service = await compileC(path.join(repoRoot, 'test/fixtures/container-service.c'), 'freezedry-test-bin', { static: true });
  await copyFile(service, path.join(dir, 'usr/bin/container-service'));
  await promisify(execFile)('chmod', ['755', path.join(dir, 'usr/bin/container-service')]);
  await writeFile(path.join(dir, 'etc/hostname'), 'image\n');
  await writeFile(path.join(dir, 'etc/removeme'), 'deleted by the container\n');
  await writeFile(path.join(dir, 'data/kept'), 'from the image\n');
  return dir;
}

/** A line-oriented client of container-service on one connection. */
export class ServiceClient {
  private buffered = '';
  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.buffered += chunk));
  }

  static async connect(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<ServiceClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, host, () => resolve(s));
          s.once('error', reject);
        });
        return new ServiceClient(socket);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(50);
      }
    }
  }

  /** Sends "check" and returns [checksum at start, checksum now, requests served]. */
  async check(timeoutMs = 20_000): Promise<[string, string, number]> {
    this.socket.write('check\n');
    const deadline = Date.now() + timeoutMs;
    while (!this.buffered.includes('\n')) {
      if (Date.now() > deadline || this.socket.destroyed) throw new Error(`no answer from the service (got '${this.buffered}')`);
      await sleep(10);
    }
    const line = this.buffered.slice(0, this.buffered.indexOf('\n'));
    this.buffered = this.buffered.slice(line.length + 1);
    const [ok, start, now, requests] = line.split(' ');
    if (ok !== 'ok') throw new Error(`unexpected answer '${line}'`);
    return [start as string, now as string, Number(requests)];
  }

  close(): void {
    this.socket.destroy();
  }
}
