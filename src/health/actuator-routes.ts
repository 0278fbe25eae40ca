import type { FastifyInstance } from 'fastify';
import { bearerSecurity, type Authenticate } from '../auth/authenticate.js';
import { notFound } from '../errors.js';
import type { AppMetrics } from '../metrics/metrics.js';
import type { PackageInfo } from './app-info.js';

export interface ConsumerAssignment {
  group: string;
  topic: string;
  partitions: number[];
}

export interface ActuatorRoutesOptions {
  metrics: AppMetrics;
  authenticate: Authenticate;
  packageInfo: PackageInfo;
  instanceId: string;
  startedAt: Date;
  /** Which partitions of which group this instance owns now: shows how Kafka split the work. */
  consumers: () => ConsumerAssignment[];
  connections: () => { open: number; connected: number };
}

/** prom-client's getMetricsAsJSON() shape; its own types for it are not exported. */
interface MetricJson {
  name: string;
  help: string;
  type: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

/** One number per metric for the summary: counters and gauges add up, histograms give count and mean. */
function summarise(metric: MetricJson): unknown {
  if (metric.type === 'histogram') {
    const count = metric.values.filter((value) => value.metricName?.endsWith('_count')).reduce((sum, value) => sum + value.value, 0);
    const sum = metric.values.filter((value) => value.metricName?.endsWith('_sum')).reduce((total, value) => total + value.value, 0);
    return { count, mean: count ? sum / count : 0 };
  }
  if (metric.values.length === 1 && Object.keys(metric.values[0]?.labels ?? {}).length === 0) return metric.values[0]?.value ?? 0;
  return metric.values.map((value) => ({ labels: value.labels, value: value.value }));
}

/**
 * Operator endpoints beside /actuator/health: info and a JSON view of the metrics need a bearer
 * token (they reveal topology); the Prometheus text does not, because scrapers live on the
 * internal network and the public proxy does not forward that path.
 */
export async function actuatorRoutes(app: FastifyInstance, options: ActuatorRoutesOptions): Promise<void> {
  const tags = ['actuator'];
  const secured = { tags, security: bearerSecurity };

  app.get(
    '/actuator/info',
    {
      preHandler: options.authenticate,
      schema: { ...secured, summary: 'Build and instance information, and the Kafka partitions this instance owns' },
    },
    async () => ({
      name: options.packageInfo.name,
      version: options.packageInfo.version,
      instanceId: options.instanceId,
      startedAt: options.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - options.startedAt.getTime()) / 1000),
      node: process.version,
      websocket: options.connections(),
      kafka: { consumers: options.consumers() },
    }),
  );

  app.get(
    '/actuator/metrics',
    {
      preHandler: options.authenticate,
      schema: { ...secured, summary: 'A JSON summary of every metric; /actuator/metrics/{name} for one in full' },
    },
    async () => {
      const metrics = (await options.metrics.snapshot()) as unknown as MetricJson[];
      return {
        instanceId: options.instanceId,
        names: metrics.map((metric) => metric.name).sort(),
        summary: Object.fromEntries(
          metrics.filter((metric) => metric.name.startsWith('chat_')).map((metric) => [metric.name, summarise(metric)]),
        ),
      };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/actuator/metrics/:name',
    { preHandler: options.authenticate, schema: { ...secured, summary: 'One metric with all its labelled values' } },
    async (request) => {
      const metric = ((await options.metrics.snapshot()) as unknown as MetricJson[]).find(
        (candidate) => candidate.name === request.params.name,
      );
      if (!metric) throw notFound(`no metric named ${request.params.name}`);
      return {
        name: metric.name,
        help: metric.help,
        type: metric.type,
        measurements: metric.values.map((value) => ({
          ...(value.metricName ? { sample: value.metricName } : {}),
          labels: value.labels,
          value: value.value,
        })),
      };
    },
  );

  app.get(
    '/actuator/prometheus',
    { schema: { tags, summary: 'Prometheus text exposition format (no auth; keep it off the public proxy)' } },
    async (_request, reply) => {
      const body = await options.metrics.render();
      return reply.type(options.metrics.contentType).send(body);
    },
  );
}
