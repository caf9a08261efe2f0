// The migration agents' transport: TLS 1.3 for the control connection and every page stream,
// so memory never crosses the network in clear and a peer without the credentials fails the
// handshake before it can send or read a byte. Two ways to hold the credentials:
//   certificates: each agent shows a certificate its peer checks against the CA both were
//     given (mutual TLS; the chain is checked, not the host name: agents are reached by
//     address, and the CA is freezedry's own);
//   the token alone: a pre-shared key both sides derive from it (HKDF-SHA256), with an
//     ephemeral Diffie-Hellman exchange on top (OpenSSL's psk_dhe_ke: forward secrecy). The
//     token itself never crosses the wire.
import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket, TlsOptions } from 'node:tls';
import { ErrorCode, FreezedryError, ValidationError } from '../errors.js';
import { tlsModule } from './deferred-modules.js';

const IDENTITY = 'freezedry-migration-v1';
const CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** PEM files: this agent's certificate and key, and the CA its peer's certificate must chain to. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface Credentials {
  token: string;
  certificates?: { cert: Buffer; key: Buffer; ca: Buffer };
}

/** The credentials of an agent: the token, and the certificate files when given (all three). */
export function loadCredentials(token: string, files?: Partial<TlsFiles>): Credentials {
  if (!files || (files.cert === undefined && files.key === undefined && files.ca === undefined)) return { token };
  const read = (what: keyof TlsFiles) => {
    const file = files[what];
    if (typeof file !== 'string') {
      throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, 'TLS certificates need all three of cert, key and ca (--tls-cert, --tls-key, --tls-ca)');
    }
    try {
      return readFileSync(file);
    } catch (cause) {
      throw new ValidationError(ErrorCode.INVALID_ARG_VALUE, `cannot read the TLS ${what} ${file}: ${(cause as Error).message}`, { cause });
    }
  };
  return { token, certificates: { cert: read('cert'), key: read('key'), ca: read('ca') } };
}

function pskFromToken(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, 'freezedry migration', 'tls 1.3 external psk', 32));
}

const common = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: CIPHERS } as const;

/** Options for a TLS server that admits only peers holding the credentials. */
export function secureServerOptions(credentials: Credentials): TlsOptions {
  const certificates = credentials.certificates;
  // The peer's certificate is checked after the handshake (refusedPeer), so that the refusal
  // can be told to it: in TLS 1.3 a client has finished its handshake before the server checks
  // its certificate, and would only see the connection close.
  if (certificates) return { ...common, ...certificates, requestCert: true, rejectUnauthorized: false };
  const psk = pskFromToken(credentials.token);
  return { ...common, pskCallback: (_socket, identity) => (identity === IDENTITY ? psk : null) };
}

/**
 * Connects to a peer's TLS server with the credentials; resolves once the handshake is done,
 * within `timeoutMs` (a peer that does not answer by then is unreachable).
 */
export function connectSecure(host: string, port: number, credentials: Credentials, what: string, timeoutMs: number): Promise<TLSSocket> {
  const certificates = credentials.certificates;
  const psk = certificates ? undefined : pskFromToken(credentials.token);
  const socket = tlsModule().connect({
    host,
    port,
    ...common,
    ...(certificates ?? { pskCallback: () => ({ psk: psk as Buffer, identity: IDENTITY }) }),
    rejectUnauthorized: true,
    // The chain is checked against our CA; agents are reached by address, not by name.
    checkServerIdentity: () => undefined,
  });
  const unanswered = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  return new Promise<TLSSocket>((resolve, reject) => {
    socket.once('secureConnect', () => {
      socket.off('error', failed);
      resolve(socket);
    });
    const failed = (cause: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(
        isHandshakeFailure(cause)
          ? new FreezedryError(
              ErrorCode.AUTH_FAILED,
              certificates
                ? `${what} and this agent do not accept each other's certificates: the TLS handshake failed (${cause.code})`
                : `${what} did not accept our token: the TLS handshake failed (${cause.code}; a different token, or not a freezedry agent)`,
              { cause },
            )
          : new FreezedryError(ErrorCode.MIGRATION_FAILED, `cannot reach ${what} at ${host}:${port}: ${cause.message}`, { cause }),
      );
    };
    socket.once('error', failed);
  }).finally(() => clearTimeout(unanswered));
}

function isHandshakeFailure(error: NodeJS.ErrnoException): boolean {
  return /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(error.code ?? '');
}

/** With certificates: why the peer of an accepted connection must be refused (undefined: it may stay). */
export function refusedPeer(socket: TLSSocket, credentials: Credentials): string | undefined {
  if (!credentials.certificates || socket.authorized) return undefined;
  return `the peer's certificate was refused (${String(socket.authorizationError ?? 'no certificate')})`;
}

/** Why a TLS handshake with a connecting peer failed, in words for the log. */
export function describeHandshakeFailure(error: NodeJS.ErrnoException): string {
  if (error.code === 'ERR_SSL_WRONG_VERSION_NUMBER') return `not a TLS client (${error.code})`;
  if (error.code === 'ECONNRESET') return 'the peer gave up the TLS handshake (it lacks our credentials, or is not a freezedry agent)';
  if (/CERTIFICATE|CERT_/.test(error.code ?? '')) return `the peer's certificate was refused (${error.code})`;
  return `the peer did not prove it knows the token (TLS handshake: ${error.code ?? error.message})`;
}
