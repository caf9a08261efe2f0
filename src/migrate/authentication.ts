// Mutual authentication with a shared token before any image byte moves: each side sends a
// fresh nonce and proves it knows the token with HMAC-SHA256(token, role || nonce). The token
// itself never crosses the wire.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, FreezedryError } from '../errors.js';
import type { MessageChannel } from './message-channel.js';

function proof(token: string, role: 'source' | 'destination', nonce: string): string {
  return createHmac('sha256', token).update(role).update(Buffer.from(nonce, 'hex')).digest('hex');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The destination's side; throws ERR_AUTH_FAILED (after telling the peer) on a wrong proof. */
export async function authenticateSource(channel: MessageChannel, token: string): Promise<void> {
  const nonce = randomBytes(32).toString('hex');
  channel.send({ type: 'challenge', nonce });
  const answer = await channel.next('auth');
  if (!same(String(answer.proof), proof(token, 'source', nonce))) {
    channel.send({ type: 'refused', code: ErrorCode.AUTH_FAILED, message: 'authentication failed' });
    throw new FreezedryError(ErrorCode.AUTH_FAILED, 'the peer did not prove it knows the token');
  }
  channel.send({ type: 'auth-ok', proof: proof(token, 'destination', String(answer.nonce)) });
}

/** The source's side: answers the challenge and checks the destination's own proof. */
export async function authenticateDestination(channel: MessageChannel, token: string): Promise<void> {
  const challenge = await channel.next('challenge');
  const nonce = randomBytes(32).toString('hex');
  channel.send({ type: 'auth', proof: proof(token, 'source', String(challenge.nonce)), nonce });
  // A refusal comes as the destination's 'refused' (ERR_AUTH_FAILED); a lost connection stays one.
  const reply = await channel.next('auth-ok');
  if (!same(String(reply.proof), proof(token, 'destination', nonce))) {
    throw new FreezedryError(ErrorCode.AUTH_FAILED, 'the destination did not prove it knows the token');
  }
}
