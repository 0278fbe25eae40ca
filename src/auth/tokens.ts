import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { unauthorized } from '../errors.js';

export interface AuthUser {
  userId: number;
  email: string;
  /** When the token expires (epoch ms); undefined when it carries no `exp`. */
  expiresAt?: number;
}

const claimsSchema = z.object({
  sub: z.string().regex(/^[1-9]\d*$/),
  email: z.string(),
  exp: z.number().optional(),
});

export interface TokenService {
  sign(user: { id: number; email: string }): string;
  /** Throws an UNAUTHORIZED AppError for anything but a valid, unexpired HMAC (HS256/384/512) token signed with our secret. */
  verify(token: string): AuthUser;
}

export function createTokenService(app: FastifyInstance): TokenService {
  return {
    sign: (user) => app.jwt.sign({ email: user.email }, { sub: String(user.id) }),
    verify(token) {
      let decoded: unknown;
      try {
        decoded = app.jwt.verify(token);
      } catch (error) {
        const code = (error as { code?: string }).code;
        throw unauthorized(code === 'FAST_JWT_EXPIRED' ? 'Token expired' : 'Invalid token');
      }
      const claims = claimsSchema.safeParse(decoded);
      if (!claims.success) throw unauthorized('Invalid token');
      const { sub, email, exp } = claims.data;
      return { userId: Number(sub), email, ...(exp !== undefined && { expiresAt: exp * 1000 }) };
    },
  };
}

/** `Bearer xyz` → `xyz`; the scheme is case-insensitive as in RFC 6750. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
