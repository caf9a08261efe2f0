// A connected pair of loopback TCP sockets, for tests of the migration agents' framing.
import { createServer, connect, type Socket } from 'node:net';

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
