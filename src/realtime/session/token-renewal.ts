/**
 * `SEND /app/token.refresh`: a live session takes a fresh token before its current one expires
 * (SPEC §6: a session ends at its token's `exp` unless renewed). The token comes in an
 * `Authorization: Bearer <jwt>` header or as a JSON body `{"token": "<jwt>"}`. It must verify and
 * belong to the session's user; the session then ends at the new token's expiry instead.
 *
 * A token that does not verify (expired, forged, a deleted user) is a refusal like any other
 * (error-policy.ts): the session keeps its current token until that one expires. A valid token of
 * another user is fatal: a session never changes hands.
 */
import { z } from 'zod';
import { bearerToken } from '../../auth/tokens.js';
import { AppError } from '../../errors.js';
import { header, headerIgnoringCase, type StompFrame } from '../../stomp/index.js';
import { FatalStompError, frameRef } from './error-policy.js';
import type { SessionContext } from './session-context.js';
import type { AuthenticatedUser } from './session-types.js';

const refreshBodySchema = z.object({ token: z.string().min(1) });

const MISSING_TOKEN = 'token refresh needs Authorization: Bearer <jwt> or a body {"token": "<jwt>"}';

function refreshToken(frame: StompFrame): string {
  const fromHeader = bearerToken(headerIgnoringCase(frame, 'authorization'));
  if (fromHeader) return fromHeader;
  if (frame.body.length === 0) throw new AppError('VALIDATION', MISSING_TOKEN);
  let json: unknown;
  try {
    json = JSON.parse(frame.body.toString('utf8'));
  } catch {
    throw new AppError('VALIDATION', MISSING_TOKEN);
  }
  const body = refreshBodySchema.safeParse(json);
  if (!body.success) throw new AppError('VALIDATION', MISSING_TOKEN);
  return body.data.token;
}

export async function renewToken(ctx: SessionContext, frame: StompFrame): Promise<void> {
  let renewed: AuthenticatedUser;
  try {
    renewed = await ctx.services.authenticate(refreshToken(frame));
  } catch (error) {
    ctx.reject(error, frameRef(frame), 'token could not be verified');
    return;
  }
  if (ctx.state() !== 'connected') return;
  if (renewed.userId !== ctx.user().userId) {
    ctx.services.onRejected?.('token-refresh-foreign');
    throw new FatalStompError('token belongs to another user', 'a session is renewed only with a token of its own user', 1008);
  }
  ctx.clock.expireAt(renewed.expiresAt);
  ctx.log.debug({ userId: renewed.userId, expiresAt: renewed.expiresAt }, 'stomp session token renewed');
  ctx.receipt(header(frame, 'receipt'));
}
