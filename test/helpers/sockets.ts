// A connected pair of loopback TCP sockets, for tests of the migration agents' framing.
import { createServer, connect, type Socket } from 'node:net';
import { MessageChannel } from '../../src/migrate/message-channel.js';

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
