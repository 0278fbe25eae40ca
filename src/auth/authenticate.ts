import type { FastifyReply, FastifyRequest } from 'fastify';
import { unauthorized } from '../errors.js';
import { bearerToken, type AuthUser, type TokenService } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthUser;
  }
}

/**
 * The preHandler every protected route carries; it leaves the caller on `request.auth`. A valid
 * signature for an account that no longer exists is no account: without the `userExists` check
 * such a token could still search users, and its writes would fail on foreign keys as 500s.
 */
export function createAuthenticate(tokens: TokenService, options: { userExists?: (userId: number) => Promise<boolean> } = {}) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw unauthorized('Missing bearer token');
    const auth = tokens.verify(token);
    if (options.userExists && !(await options.userExists(auth.userId))) throw unauthorized('User no longer exists');
    request.auth = auth;
  };
}

export type Authenticate = ReturnType<typeof createAuthenticate>;

/** OpenAPI marker for routes that need a bearer token. */
export const bearerSecurity = [{ bearerAuth: [] }];
