import cors from '@fastify/cors';
import fastifyJwt from '@fastify/jwt';
import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { durationToSeconds, type AppConfig } from '../config.js';

/**
 * The HTTP plumbing every route relies on: CORS, per-route rate limits (in windows shared by all
 * instances, `rateLimitStore`), JWT, OpenAPI at /docs.
 */
export async function registerHttpPlugins(
  app: FastifyInstance,
  config: AppConfig,
  options: { rateLimitStore: RateLimitPluginOptions['store'] },
): Promise<void> {
  await app.register(cors, { origin: config.CORS_ORIGINS.length ? config.CORS_ORIGINS : true });
  await app.register(rateLimit, { global: false, store: options.rateLimitStore });
  await app.register(fastifyJwt, {
    secret: config.JWT_SECRET,
    sign: { algorithm: 'HS256', expiresIn: durationToSeconds(config.JWT_EXPIRES_IN) },
    // Pinning the algorithms to HMAC with this secret is what refuses `alg: none` and
    // algorithm-confusion tokens. HS384/HS512 too: the Spring version (jjwt) signs with the
    // strongest HMAC its key allows (HS512 for its 70-byte default), and its users' tokens stay
    // valid across the switch when JWT_SECRET is kept.
    verify: { algorithms: ['HS256', 'HS384', 'HS512'] },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Chat backend',
        version: '0.1.0',
        description: 'REST API of the real-time chat service. Live messaging is STOMP 1.2 over WebSocket at /ws.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
