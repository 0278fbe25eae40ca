/**
 * CONNECT and STOMP (STOMP 1.2 "Connecting", "Protocol Negotiation", "Heart-beating"): version,
 * heart-beats, then the bearer token. CONNECTED is written only once the token is verified.
 */
import { AppError } from '../../errors.js';
import { bearerToken } from '../../auth/tokens.js';
import {
  header,
  headerIgnoringCase,
  negotiateHeartbeat,
  negotiateVersion,
  parseHeartbeat,
  type HeartbeatSpec,
  type StompFrame,
  type StompVersion,
} from '../../stomp/index.js';
import { FatalStompError } from './error-policy.js';
import type { SessionContext } from './session-context.js';
import type { AuthenticatedUser } from './session-types.js';

/** The token: `Authorization` (any case) wins, then `passcode` (bare or Bearer), then `?access_token=`. */
export function connectToken(frame: StompFrame, queryToken: string | undefined): string | undefined {
  const passcode = header(frame, 'passcode');
  return bearerToken(headerIgnoringCase(frame, 'authorization')) ?? bearerToken(passcode) ?? passcode ?? queryToken;
}

export async function handleConnect(ctx: SessionContext, frame: StompFrame): Promise<void> {
  ctx.beginConnect();
  let version: StompVersion;
  let clientHeartbeat: HeartbeatSpec;
  try {
    version = negotiateVersion(header(frame, 'accept-version'));
    clientHeartbeat = parseHeartbeat(header(frame, 'heart-beat'));
  } catch (error) {
    throw new FatalStompError((error as Error).message);
  }
  // Set before authenticating, so a refusal is already written the way this client reads frames.
  ctx.adoptVersion(version);
  const token = connectToken(frame, ctx.queryToken);
  if (!token) throw new FatalStompError('authentication required', 'CONNECT must carry Authorization: Bearer <jwt>', 1008);
  let authenticated: AuthenticatedUser;
  try {
    authenticated = await ctx.services.authenticate(token);
  } catch (error) {
    throw new FatalStompError(error instanceof AppError ? error.message : 'authentication failed', undefined, 1008);
  }
  // The CONNECT deadline may have refused the connection while the token was being checked.
  if (ctx.state() !== 'connecting') return;

  const { expiresAt, ...user } = authenticated;
  const floorMs = ctx.limits.heartbeatFloorMs;
  const negotiated = negotiateHeartbeat(clientHeartbeat, { outgoingMs: floorMs, incomingMs: floorMs }, { floorMs });
  const heartbeat = { sendEveryMs: negotiated.sendEveryMs, expectEveryMs: negotiated.expectEveryMs };
  ctx.established(user, heartbeat, expiresAt);
  ctx.writeFrame('CONNECTED', {
    version,
    'heart-beat': negotiated.header,
    server: ctx.serverName,
    session: ctx.session.id,
    'user-name': String(user.userId),
  });
  ctx.log.debug({ userId: user.userId, version, heartbeat }, 'stomp connected');
  ctx.services.onConnected?.(ctx.session);
}
