// The page relay in front of CRIU's page server, over real loopback sockets: only the one
// peer that opens with the ticket is piped through; everyone else gets nothing and is logged.
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openPageRelay, TICKET_BYTES, type PageRelay } from '../../src/migrate/page-relay.js';

/** A stand-in for CRIU's page server: echoes what it gets, prefixed with a secret. */
async function fakePageServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.write('SECRET:');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Everything a client that sends `opening` gets before the connection closes or 500 ms pass. */
function exchange(port: number, opening: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = () => {
      socket.destroy();
      resolve(text);
    };
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', done);
    socket.on('close', done);
    socket.once('connect', () => socket.write(opening));
    setTimeout(done, 500);
  });
}

describe('page relay', () => {
  let relay: PageRelay | undefined;
  let criu: Server | undefined;
  afterEach(() => {
    relay?.close();
    criu?.close();
  });

  it('admits the peer with the ticket, once; refuses and logs wrong tickets and latecomers', async () => {
    const fake = await fakePageServer();
    criu = fake.server;
    const lines: string[] = [];
    relay = await openPageRelay({ host: '127.0.0.1', criuPort: fake.port, log: (line) => lines.push(line) });
    expect(relay.ticket.length).toBe(TICKET_BYTES);

    expect(await exchange(relay.port, Buffer.alloc(TICKET_BYTES, 7))).toBe('');
    expect(lines.at(-1)).toMatch(/refused a page-server connection from 127\.0\.0\.1:\d+: wrong ticket/);
    expect(await exchange(relay.port, Buffer.from('GET / HTTP/1.0\r\n\r\n'.padEnd(TICKET_BYTES, ' ')))).toBe('');

    // The ticket and what follows it in the same packet both count.
    const answer = await exchange(relay.port, Buffer.concat([relay.ticket, Buffer.from('hello')]));
    expect(answer).toBe('SECRET:hello');

    // One session: even the right ticket does not open it twice.
    expect(await exchange(relay.port, relay.ticket)).toBe('');
  });
});
