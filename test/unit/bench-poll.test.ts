// The bench's service polls: a workload that keeps its connection open after answering (memhog's
// keep-alive server ignores "Connection: close") must count as answering at once, not after the
// poll's 5 s timeout, or every "until it answers" time would gain those 5 s.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ping } from '../../src/bench/harness.js';

describe('bench polls', () => {
  it('a service that answers and keeps the connection open answers at once', async () => {
    const server = net.createServer((socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{"counter":1}')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      expect(await ping(port)).toBe(true);
    } finally {
      server.close();
    }
  }, 3000); // the poll's own timeout is 5 s: waiting for a close that never comes fails here

  it('nothing listening: no answer', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await ping(port)).toBe(false);
  });
});
