// The page relay in front of CRIU's page server and the destination's tunnel into it, over
// real loopback sockets: only a peer that knows the token (TLS) and opens with the ticket is
// piped through, once; everyone else gets nothing and is logged.
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openPageRelay, openPageTunnel, TICKET_BYTES, type PageRelay, type PageTunnel } from '../../src/migrate/page-relay.js';

const TOKEN = 'the-token';

/** A stand-in for CRIU's page server: echoes what it gets, prefixed with a secret. */
async function fakePageServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.write('SECRET:');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Everything a plain client that sends `opening` gets before the connection closes or 500 ms pass. */
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
  const closers: { close(): void }[] = [];
  afterEach(() => closers.splice(0).forEach((c) => c.close()));

  async function setup(): Promise<{ relay: PageRelay; lines: string[]; tunnel: (token?: string) => Promise<PageTunnel> }> {
    const fake = await fakePageServer();
    closers.push(fake.server);
    const lines: string[] = [];
    const relay = await openPageRelay({ host: '127.0.0.1', criuPort: fake.port, credentials: { token: TOKEN }, log: (line) => lines.push(line) });
    closers.push(relay);
    const tunnel = async (token = TOKEN) => {
      const opened = await openPageTunnel({ host: '127.0.0.1', port: relay.port, credentials: { token }, timeoutMs: 2000, log: (line) => lines.push(line) });
      closers.push(opened);
      return opened;
    };
    return { relay, lines, tunnel };
  }

  it('admits the peer with the token and the ticket, once; refuses and logs wrong tickets and latecomers', async () => {
    const { relay, lines, tunnel } = await setup();
    expect(relay.ticket.length).toBe(TICKET_BYTES);

    expect(await exchange((await tunnel()).port, Buffer.alloc(TICKET_BYTES, 7))).toBe('');
    expect(lines.at(-1)).toMatch(/refused a page-server connection from 127\.0\.0\.1:\d+: wrong ticket/);

    // The ticket and what follows it in the same packet both count.
    const answer = await exchange((await tunnel()).port, Buffer.concat([relay.ticket, Buffer.from('hello')]));
    expect(answer).toBe('SECRET:hello');

    // One session: even the right ticket does not open it twice.
    expect(await exchange((await tunnel()).port, relay.ticket)).toBe('');
  });

  it('gives nothing to a plain TCP client or one with another token, even with the ticket', async () => {
    const { relay, lines, tunnel } = await setup();
    // Straight to the relay, without TLS: the memory never crosses in clear.
    expect(await exchange(relay.port, Buffer.concat([relay.ticket, Buffer.from('hello')]))).toBe('');
    // The refusal is logged once the relay has seen the connection end, which may be just after
    // our side of it closed.
    await until(() => lines.some((line) => /refused a page-server connection .*(not a TLS client|gave up the TLS handshake)/.test(line)));
    // Through a tunnel keyed by another token: the handshake fails.
    expect(await exchange((await tunnel('another-token')).port, Buffer.concat([relay.ticket, Buffer.from('hello')]))).toBe('');
    await until(() => lines.some((line) => /did not accept our token/.test(line)));
    // The right one still gets in afterwards.
    expect(await exchange((await tunnel()).port, Buffer.concat([relay.ticket, Buffer.from('hello')]))).toBe('SECRET:hello');
  });
});

/** Waits (up to 5 s) until `condition` holds, and fails the test if it never does. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) expect.fail('the condition never held within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
