import type { FastifyReply, FastifyRequest } from 'fastify';
import { unauthorized } from '../errors.js';
import { bearerToken, type AuthUser, type TokenService } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthUser;
  }
}

/** The preHandler every protected route carries; it leaves the caller on `request.auth`. */
export function createAuthenticate(tokens: TokenService) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw unauthorized('Missing bearer token');
    request.auth = tokens.verify(token);
  };
}

export type Authenticate = ReturnType<typeof createAuthenticate>;

/** OpenAPI marker for routes that need a bearer token. */
export const bearerSecurity = [{ bearerAuth: [] }];
