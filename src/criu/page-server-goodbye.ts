// Ending a lazy dump's page server early (nobody will pull the pages). Killing CRIU there would
// let go of the tree it holds mid-dump: the tree runs on at once with its TCP sockets still in
// repair mode, reads one (EPERM) and closes it without a word to its peer. CRIU's lazy page
// server instead ends its session as a success when its client closes the connection, and the
// dump then leaves the tree as it was asked to (stopped), its locks for the caller to undo. A
// server that never had a client waits in accept(): a connection that closes at once ends it.
import { connect, type Socket } from 'node:net';

/** How long CRIU has to end its page session once told, before it is killed after all. */
const GOODBYE_GRACE_MS = 3000;
const GOODBYE_RETRY_MS = 100;

export interface PageServerGoodbye {
  /** Aborts if CRIU still serves `GOODBYE_GRACE_MS` after the goodbye: kill it then. */
  kill: AbortSignal;
  dispose(): void;
}

/** When `end` aborts, closes a connection to the page server at `address`:`port`, again until disposed (it may not listen yet). */
export function sayGoodbyeOnEnd(end: AbortSignal, address: string, port: number): PageServerGoodbye {
  const kill = new AbortController();
  const sockets = new Set<Socket>();
  let retry: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  const goodbye = () => {
    const socket = connect(port, address);
    sockets.add(socket);
    socket.once('connect', () => socket.destroy());
    socket.once('error', () => {}); // not listening (yet, or any more)
    socket.once('close', () => sockets.delete(socket));
  };
  const onEnd = () => {
    goodbye();
    retry = setInterval(goodbye, GOODBYE_RETRY_MS);
    deadline = setTimeout(() => kill.abort(end.reason), GOODBYE_GRACE_MS);
  };
  if (end.aborted) onEnd();
  else end.addEventListener('abort', onEnd, { once: true });
  return {
    kill: kill.signal,
    dispose: () => {
      end.removeEventListener('abort', onEnd);
      clearInterval(retry);
      clearTimeout(deadline);
      for (const socket of sockets) socket.destroy();
    },
  };
}
