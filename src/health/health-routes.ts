import type { FastifyInstance } from 'fastify';
import { runHealthChecks, type HealthCheck } from './health-checks.js';

export interface HealthRoutesOptions {
  checks: Record<string, HealthCheck>;
  /** False once shutdown has begun, so a load balancer stops routing here before sockets close. */
  isAcceptingTraffic: () => boolean;
}

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const schema = { tags: ['health'], summary: 'Component health (no auth)' };

  app.get('/actuator/health', { schema }, async (_request, reply) => {
    const health = await runHealthChecks(options.checks);
    const status = health.status === 'UP' && options.isAcceptingTraffic() ? 'UP' : 'DOWN';
    return reply.status(status === 'UP' ? 200 : 503).send({ status, components: health.components });
  });

  app.get('/actuator/health/liveness', { schema: { ...schema, summary: 'Liveness probe: the process serves requests' } }, async () => ({
    status: 'UP',
  }));

  app.get(
    '/actuator/health/readiness',
    { schema: { ...schema, summary: 'Readiness probe: dependencies up and not shutting down' } },
    async (_request, reply) => {
      if (!options.isAcceptingTraffic()) return reply.status(503).send({ status: 'DOWN', reason: 'shutting down' });
      const health = await runHealthChecks(options.checks);
      return reply.status(health.status === 'UP' ? 200 : 503).send(health);
    },
  );
}
