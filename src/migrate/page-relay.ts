// The door to CRIU's lazy page server on a migration's source, and the destination's way in.
// CRIU's page server serves the frozen tree's memory to whoever connects first, with no
// authentication: it listens on loopback only. The relay, on the address the destination
// reached us at, is a TLS server with the agents' credentials (secure-transport.ts): it admits one
// connection that completes the handshake and opens with the ticket sent over the control
// channel, and pipes it to CRIU. Anything else is logged and closed without a byte of memory.
// On the destination, the native page source speaks plain TCP: a tunnel on its loopback takes
// its one connection into the relay's TLS.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { connect, createServer as createPlainServer, type Server, type Socket } from 'node:net';
import { tlsModule } from './deferred-modules.js';
import { connectSecure, describeHandshakeFailure, refusedPeer, secureServerOptions, type Credentials } from './secure-transport.js';

export const TICKET_BYTES = 32;
const TICKET_WAIT_MS = 5000;

export interface PageRelay {
  port: number;
  ticket: Buffer;
  close(): void;
}

export async function openPageRelay(options: { host: string; criuPort: number; credentials: Credentials; log: (line: string) => void }): Promise<PageRelay> {
  const ticket = randomBytes(TICKET_BYTES);
  let admitted = false;
  const sockets = new Set<Socket>();
  const server: Server = tlsModule().createServer(secureServerOptions(options.credentials), (peer) => {
    sockets.add(peer);
    peer.once('close', () => sockets.delete(peer));
    const from = `${peer.remoteAddress}:${peer.remotePort}`;
    const refuse = (why: string) => {
      options.log(`refused a page-server connection from ${from}: ${why}`);
      peer.destroy();
    };
    const refusal = refusedPeer(peer, options.credentials);
    if (refusal) return refuse(refusal);
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
      criu.once('connect', () => {
        const rest = head.subarray(TICKET_BYTES);
        if (rest.length > 0) criu.write(rest);
      });
      splice(peer, criu);
    };
    peer.on('data', onData);
    peer.once('error', () => clearTimeout(timer));
    peer.once('close', () => clearTimeout(timer));
  });
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    options.log(`refused a page-server connection from ${socket.remoteAddress}:${socket.remotePort}: ${describeHandshakeFailure(error)}`);
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

export interface PageTunnel {
  /** Where the native page source connects, on loopback. */
  port: number;
  close(): void;
}

/**
 * The destination's end: a loopback port whose first connection is carried into the source's
 * relay over TLS keyed by the token (the ticket the native side sends first goes through it).
 */
export async function openPageTunnel(options: { host: string; port: number; credentials: Credentials; timeoutMs: number; log: (line: string) => void }): Promise<PageTunnel> {
  const sockets = new Set<Socket>();
  let taken = false;
  const server: Server = createPlainServer((local) => {
    sockets.add(local);
    local.once('close', () => sockets.delete(local));
    if (taken) {
      local.destroy();
      return;
    }
    taken = true;
    server.close(); // one session
    local.pause();
    connectSecure(options.host, options.port, options.credentials, "the source's page relay", options.timeoutMs).then(
      (remote) => {
        sockets.add(remote);
        splice(local, remote);
      },
      (error: Error) => {
        options.log(`cannot reach the source's page relay: ${error.message}`);
        local.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Pipes a paused `client` and the `server` side it was admitted to both ways, from the moment
 * the server side is connected; either side's failure ends both, the client's close ends the server's.
 */
function splice(client: Socket, server: Socket): void {
  client.setNoDelay(true);
  server.setNoDelay(true);
  const start = () => {
    client.pipe(server);
    server.pipe(client);
    client.resume();
  };
  if (server.connecting) server.once('connect', start);
  else start();
  const end = () => {
    client.destroy();
    server.destroy();
  };
  server.once('error', end);
  server.once('close', end);
  client.once('error', end);
  client.once('close', () => server.end());
}
