// The door to CRIU's lazy page server on a migration's source. CRIU's page server serves the
// frozen tree's memory to whoever connects first, with no authentication: it listens on
// loopback only, and this relay, on the address the destination reached us at, admits one
// connection that opens with the ticket sent over the authenticated control channel, and
// pipes it to CRIU. Anything else is logged and closed without a byte of memory.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';

export const TICKET_BYTES = 32;
const TICKET_WAIT_MS = 5000;

export interface PageRelay {
  port: number;
  ticket: Buffer;
  close(): void;
}

export async function openPageRelay(options: { host: string; criuPort: number; log: (line: string) => void }): Promise<PageRelay> {
  const ticket = randomBytes(TICKET_BYTES);
  let admitted = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((peer) => {
    sockets.add(peer);
    peer.once('close', () => sockets.delete(peer));
    const from = `${peer.remoteAddress}:${peer.remotePort}`;
    const refuse = (why: string) => {
      options.log(`refused a page-server connection from ${from}: ${why}`);
      peer.destroy();
    };
    if (admitted) return refuse('the destination is already served');
    const timer = setTimeout(() => refuse(`no ticket within ${TICKET_WAIT_MS} ms`), TICKET_WAIT_MS);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < TICKET_BYTES) return;
      clearTimeout(timer);
      peer.off('data', onData);
      peer.pause();
      if (admitted) return refuse('the destination is already served');
      if (!timingSafeEqual(head.subarray(0, TICKET_BYTES), ticket)) return refuse('wrong ticket');
      admitted = true;
      server.close(); // one session: nobody else gets in, even with the ticket
      const criu = connect(options.criuPort, '127.0.0.1');
      sockets.add(criu);
      criu.setNoDelay(true);
      peer.setNoDelay(true);
      criu.once('connect', () => {
        const rest = head.subarray(TICKET_BYTES);
        if (rest.length > 0) criu.write(rest);
        peer.pipe(criu);
        criu.pipe(peer);
        peer.resume();
      });
      const end = () => {
        peer.destroy();
        criu.destroy();
      };
      criu.once('error', end);
      criu.once('close', end);
      peer.once('error', end);
      peer.once('close', () => criu.end());
    };
    peer.on('data', onData);
    peer.once('error', () => clearTimeout(timer));
    peer.once('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host, resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    ticket,
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
