import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { applySpringVariables } from './config-spring.js';

/** A comma-separated list, trimmed, empties dropped. */
const csv = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/** An address, an address/prefix block, or one of proxy-addr's named ranges. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry);
  const family = match ? isIP(match[1]!) : 0;
  return family !== 0 && (match?.[2] === undefined || Number(match[2]) <= (family === 4 ? 32 : 128));
}

/** Whom X-Forwarded-For is believed from: nobody (false), every hop (true), the nearest N hops, or these proxies. */
const trustProxy = z.string().transform((value, context): boolean | number | string[] => {
  if (value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value) || false;
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !isProxyAddress(entry));
  if (bad.length || !entries.length)
    context.addIssue({
      code: 'custom',
      message: `expected false, true, a hop count or proxy addresses/CIDRs; not ${bad.join(', ') || 'empty'}`,
    });
  return entries;
});

const durationPattern = /^\d+\s*(ms|s|m|h|d)?$/;
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://postgres@127.0.0.1:5432/chat'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  KAFKA_BROKERS: csv.pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1)).default(['127.0.0.1:29092']),
  JWT_SECRET: z
    .string({ error: 'is required (at least 32 bytes)' })
    .refine((secret) => Buffer.byteLength(secret) >= 32, 'must be at least 32 bytes'),
  JWT_EXPIRES_IN: z.string().regex(durationPattern, 'expected a duration such as 24h, 30m or 3600s').default('24h'),
  RATE_LIMIT_MESSAGES_PER_SECOND: z.coerce.number().int().positive().default(10),
  AUTH_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(30),
  /** Read receipts (REST and STOMP together) per user per second, sliding window. */
  READ_RECEIPT_RATE_LIMIT_PER_SECOND: z.coerce.number().int().positive().default(10),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore only')
    .default(''),
  KAFKA_GROUP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default(''),
  /** How often the topics are checked, to create them again if the broker lost them. */
  KAFKA_TOPIC_CHECK_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  REDIS_KEY_PREFIX: z.string().default(''),
  CORS_ORIGINS: csv.default([]),
  TRUST_PROXY: trustProxy.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  INSTANCE_ID: z.string().min(1).default(hostname()),
  MAX_GROUP_MEMBERS: z.coerce.number().int().min(2).default(500),
  CONSUMER_RETRY_ATTEMPTS: z.coerce.number().int().min(0).default(3),
  CONSUMER_RETRY_BACKOFF_MS: z.coerce.number().int().min(0).default(1000),
  /** Lifetime of `user:presence:{userId}` and of each connection's entry; refreshed while the connection lives. */
  PRESENCE_TTL_SECONDS: z.coerce.number().int().min(1).default(60),
  /** How often live connections refresh their presence; a third of the TTL when unset. */
  PRESENCE_REFRESH_INTERVAL_MS: z.coerce.number().int().min(100).optional(),
  /** How often every instance looks for users whose connections all expired (an instance crashed). */
  PRESENCE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  /** Upper bound on how long a cached unread count lives, the backstop if an invalidation is ever lost. */
  UNREAD_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).default(600),
  // STOMP sessions (docs/stomp.md "Limits"; src/realtime/realtime-settings.ts maps them).
  STOMP_CONNECT_TIMEOUT_MS: positiveInt(10_000),
  STOMP_FRAME_TIMEOUT_MS: positiveInt(30_000),
  STOMP_HEARTBEAT_FLOOR_MS: positiveInt(1_000),
  STOMP_IDLE_PING_MS: positiveInt(30_000),
  STOMP_RECEIPT_WAIT_MS: positiveInt(10_000),
  STOMP_SUBSCRIBE_CONFIRM_TIMEOUT_MS: positiveInt(5_000),
  STOMP_USER_SWEEP_INTERVAL_MS: positiveInt(5_000),
  STOMP_MAX_SUBSCRIPTIONS: positiveInt(100),
  STOMP_MAX_PENDING_FRAMES: positiveInt(256),
  STOMP_MAX_UNACKED: positiveInt(1_000),
  STOMP_READ_PAUSE_BYTES: positiveInt(256 * 1024),
  STOMP_READ_RESUME_BYTES: positiveInt(64 * 1024),
  STOMP_MAX_INBOUND_BYTES: positiveInt(1024 * 1024),
  STOMP_MAX_OUTBOUND_BYTES: positiveInt(1024 * 1024),
  /** How long a SEND's claim on its messageKey lives in Redis: longer than a record takes to be stored. */
  MESSAGE_KEY_CLAIM_TTL_SECONDS: z.coerce.number().int().min(1).default(300),
  /** How long a read receipt naming a message not stored yet waits for it before it is dead-lettered. */
  PENDING_MESSAGE_WAIT_MS: z.coerce.number().int().min(0).default(60_000),
  MIGRATE_ON_START: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
});

export type AppConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The only place that reads the environment. Every failing variable is reported at once,
 * so an operator fixes a deployment in one round rather than one variable per restart. The
 * Spring version's variables (DB_HOST, REDIS_HOST, KAFKA_BOOTSTRAP_SERVERS…) stand in for unset URLs.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const spring = applySpringVariables(present);
  const result = configSchema.safeParse(spring.env);
  if (!result.success || spring.issues.length > 0) {
    const schemaIssues = result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError([...spring.issues, ...schemaIssues]);
  }
  return result.data;
}

/** Parses `24h`, `30m`, `15s`, `500ms` or a bare number of seconds into seconds. */
export function durationToSeconds(duration: string): number {
  const match = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(duration);
  if (!match) throw new Error(`bad duration ${duration}`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[unit] ?? 1;
  return Math.max(1, Math.floor(value * factor));
}
