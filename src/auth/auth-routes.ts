import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError } from '../errors.js';
import { authResponseSchema, loginBodySchema, signupBodySchema } from './auth-schemas.js';
import type { AuthService } from './auth-service.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  perMinute: number;
}

/**
 * Sign-up and login, each limited twice: per client address (one host hammering many accounts)
 * and per email (many hosts hammering one account).
 */
export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const tooMany = (_request: FastifyRequest, context: { after: string; ttl: number }) =>
    new AppError('RATE_LIMITED', `Too many attempts, retry in ${context.after}`, {
      retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
    });
  const perAddress = { max: options.perMinute, timeWindow: 60_000, hook: 'onRequest' as const, errorResponseBuilder: tooMany };
  const perEmail = app.rateLimit({
    max: options.perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `email:${(request.body as { email?: string } | undefined)?.email ?? ''}`,
    errorResponseBuilder: tooMany,
  });

  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.post('/api/auth/signup', {
    config: { rateLimit: perAddress },
    preHandler: perEmail,
    schema: {
      tags: ['auth'],
      summary: 'Create an account and get a token',
      body: signupBodySchema,
      response: { 201: authResponseSchema },
    },
    handler: async (request, reply) => reply.status(201).send(await options.auth.signup(request.body)),
  });

  typed.post('/api/auth/login', {
    config: { rateLimit: perAddress },
    preHandler: perEmail,
    schema: {
      tags: ['auth'],
      summary: 'Exchange email and password for a token',
      body: loginBodySchema,
      response: { 200: authResponseSchema },
    },
    handler: async (request) => options.auth.login(request.body),
  });
}
