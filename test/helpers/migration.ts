// The destination agent (`freezedry receive`) in a test host, for the migration tests.
import type { TestHost } from '../../src/bench/network-hosts.js';
import { freezedryCommand, waitFor } from './workloads.js';

/** Starts `freezedry receive --listen HOST:PORT ARGS…` in `host` (with `env` set) and waits until it listens. */
export async function startReceiver(host: TestHost, port: number, args: string[], env: string[] = []) {
  const child = host.spawn(['env', ...env, freezedryCommand, 'receive', '--listen', `${host.address}:${port}`, ...args]);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitFor('the receiver', () => (output.includes('listening') ? true : undefined));
  return { child, exited, output: () => output };
}
