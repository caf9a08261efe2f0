// The migration agents' transport: TLS 1.3 with a pre-shared key both sides derive from the
// shared token (HKDF-SHA256), with an ephemeral Diffie-Hellman exchange on top (OpenSSL's
// psk_dhe_ke: forward secrecy). The control connection and every page stream run in it, so
// memory never crosses the network in clear, and a peer that does not know the token fails the
// handshake before it can send or read a byte. The token itself never crosses the wire.
import { hkdfSync } from 'node:crypto';
import tls from 'node:tls';
import { ErrorCode, FreezedryError } from '../errors.js';

const IDENTITY = 'freezedry-migration-v1';
const CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

function pskFromToken(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, 'freezedry migration', 'tls 1.3 external psk', 32));
}

/** Options for a TLS server that admits only peers that know the token. */
export function secureServerOptions(token: string): tls.TlsOptions {
  const psk = pskFromToken(token);
  return {
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: CIPHERS,
    pskCallback: (_socket, identity) => (identity === IDENTITY ? psk : null),
  };
}

/**
 * Connects to a peer's TLS server with the key of the token; resolves once the handshake is
 * done, within `timeoutMs` (a peer that does not answer by then is unreachable).
 */
export function connectSecure(host: string, port: number, token: string, what: string, timeoutMs: number): Promise<tls.TLSSocket> {
  const psk = pskFromToken(token);
  const socket = tls.connect({
    host,
    port,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: CIPHERS,
    pskCallback: () => ({ psk, identity: IDENTITY }),
    // No certificate: the key both sides derive from the token is the authentication.
    checkServerIdentity: () => undefined,
  });
  const unanswered = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    socket.once('secureConnect', () => {
      socket.off('error', failed);
      resolve(socket);
    });
    const failed = (cause: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(
        cause.code?.startsWith('ERR_SSL_')
          ? new FreezedryError(ErrorCode.AUTH_FAILED, `${what} did not accept our token: the TLS handshake failed (${cause.code}; a different token, or not a freezedry agent)`, { cause })
          : new FreezedryError(ErrorCode.MIGRATION_FAILED, `cannot reach ${what} at ${host}:${port}: ${cause.message}`, { cause }),
      );
    };
    socket.once('error', failed);
  }).finally(() => clearTimeout(unanswered));
}

/** Why a TLS handshake with a connecting peer failed, in words for the log. */
export function describeHandshakeFailure(error: NodeJS.ErrnoException): string {
  return error.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || error.code === 'ECONNRESET'
    ? `not a TLS client (${error.code})`
    : `the peer did not prove it knows the token (TLS handshake: ${error.code ?? error.message})`;
}
