// A connected pair of loopback TCP sockets, for tests of the migration agents' framing, and an
// echo service with a client connected, for tests that dump a tree's connection.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { MessageChannel } from '../../src/migrate/message-channel.js';
import { freePort, logText, waitFor } from './workloads.js';

/** The pair, and a function that closes both and the server behind them. */
export async function socketPair(): Promise<{ sockets: [Socket, Socket]; close: () => void }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const peer = await accepted;
  return {
    sockets: [client, peer],
    close: () => {
      client.destroy();
      peer.destroy();
      server.close();
    },
  };
}

/** A message channel at each end of a socketPair; close ends both, and the sockets. */
export async function channelPair(): Promise<{ sender: MessageChannel; receiver: MessageChannel; close: () => void }> {
  const pair = await socketPair();
  const sender = new MessageChannel(pair.sockets[0]);
  const receiver = new MessageChannel(pair.sockets[1]);
  return {
    sender,
    receiver,
    close: () => {
      sender.close();
      receiver.close();
      pair.close();
    },
  };
}

/**
 * A node process echoing on a loopback TCP port (its log in `log`), and a client holding one
 * connection to it, which has had one line echoed. For a dump of it: `sendWhileFrozen()` once
 * CRIU has seized it (the line waits in its socket, dumped with it); `goesOn()` once it runs
 * again: waits for that line's echo and one more, and returns all that came back. An unhandled
 * socket error ends the service (as one in repair mode gives on a read: EPERM).
 */
export async function echoService(log: string, track: (pid: number) => number) {
  const port = await freePort();
  const script = `require('net').createServer((s) => s.pipe(s)).listen(${port}, '127.0.0.1', () => console.log('listening'))`;
  const service = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')] });
  const pid = track(service.pid as number);
  await waitFor('the echo service', () => (logText(log).includes('listening') ? true : undefined));
  const client = connect(port, '127.0.0.1');
  let echoed = '';
  client.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
  client.on('error', (error) => (echoed += `ERROR ${error.message}`));
  const echoOf = (line: string) => waitFor(`the echo of '${line}'`, () => (echoed.includes(`${line}\n`) ? true : undefined), 5000);
  client.write('before\n');
  await echoOf('before');
  return {
    pid,
    /** Its connection as the service sees it, as nft writes a set element: local, then remote. */
    connection: () => `127.0.0.1 . ${port} . 127.0.0.1 . ${client.localPort}`,
    sendWhileFrozen: () => void client.write('while frozen\n'),
    async goesOn(): Promise<string> {
      await echoOf('while frozen');
      client.write('after\n');
      await echoOf('after');
      return echoed;
    },
    close: () => client.destroy(),
  };
}
