// The page sink behind a TCP page server, for a CRIU we do not start ourselves (runc's, which
// takes only `--page-server ADDR:PORT`): it listens on loopback, admits the first connection
// that comes from a process of the given tree (the socket's owner is looked up in /proc), and
// refuses any other.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { ErrorCode, FreezedryError } from '../errors.js';
import { processTree } from '../process/proc.js';
import { PageSinkSession, type SinkTarget } from './page-sink.js';

type Target = Exclude<SinkTarget, { discard: true }>;

export class LoopbackPageSink {
  readonly port: number;
  /** Settles with the session once CRIU connected (rejects if closed first). */
  readonly session: Promise<PageSinkSession>;
  /** The session, once CRIU connected. */
  accepted: PageSinkSession | undefined;
  private readonly server: net.Server;
  private settle!: { resolve: (s: PageSinkSession) => void; reject: (e: Error) => void };

  private constructor(server: net.Server, port: number, target: Target, treeRoot: () => number | undefined) {
    this.server = server;
    this.port = port;
    this.session = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.session.catch(() => {}); // observed by the caller once its CRIU has answered
    server.on('connection', (socket) => {
      const root = treeRoot();
      if (this.accepted || root === undefined || !ownedByTree(socket, root)) {
        socket.destroy();
        return;
      }
      try {
        const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
        this.accepted = PageSinkSession.onConnection(fd, target); // the sink took a duplicate
        this.settle.resolve(this.accepted);
      } catch (error) {
        this.settle.reject(error as Error);
      } finally {
        socket.destroy();
        server.close();
      }
    });
  }

  /** Listens on 127.0.0.1 (a free port); `treeRoot` names the process whose tree may connect. */
  static async listen(target: Target, treeRoot: () => number | undefined): Promise<LoopbackPageSink> {
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    return new LoopbackPageSink(server, port, target, treeRoot);
  }

  close(): void {
    this.server.close();
    if (!this.accepted) {
      this.settle.reject(new FreezedryError(ErrorCode.PAGE_SINK_FAILED, 'CRIU never connected to the page server'));
    }
  }
}

/** Whether the peer of this loopback connection is a socket held by a process of root's tree. */
function ownedByTree(socket: net.Socket, root: number): boolean {
  const inode = loopbackSocketInode(socket.remotePort ?? -1, socket.localPort ?? -1);
  if (inode === undefined) return false;
  const wanted = `socket:[${inode}]`;
  return processTree(root).some((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

/** The inode of the IPv4 socket 127.0.0.1:localPort connected to 127.0.0.1:remotePort. */
export function loopbackSocketInode(localPort: number, remotePort: number): string | undefined {
  const address = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const local = address(localPort);
  const remote = address(remotePort);
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote) return fields[9];
  }
  return undefined;
}
