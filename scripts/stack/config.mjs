/**
 * The stack's configuration: the same variables the app reads, with the app's defaults.
 *   DATABASE_URL  (postgres://postgres@127.0.0.1:5432/chat)
 *   REDIS_URL     (redis://127.0.0.1:6379)
 *   KAFKA_BROKERS (127.0.0.1:29092; a comma-separated list, the first one is the one started)
 */
import { ScriptError } from '../lib/errors.mjs';

function parseHostPort(text, defaultPort, what) {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(text.trim());
  if (!m || !m[1]) throw new ScriptError(`${what}: cannot read host:port from "${text}"`);
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

function parseUrl(value, defaultPort, variable) {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new ScriptError(`${variable} is not a valid URL: "${value}"`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new ScriptError(`${variable} has no host: "${value}"`);
  return { url, host, port: url.port ? Number(url.port) : defaultPort };
}

export function readConfig(env = process.env) {
  const pg = parseUrl(env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/chat', 5432, 'DATABASE_URL');
  const redis = parseUrl(env.REDIS_URL || 'redis://127.0.0.1:6379', 6379, 'REDIS_URL');
  const brokers = (env.KAFKA_BROKERS || '127.0.0.1:29092')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => parseHostPort(s.replace(/^[a-z]+:\/\//i, ''), 9092, 'KAFKA_BROKERS'));
  if (brokers.length === 0) throw new ScriptError('KAFKA_BROKERS is empty');
  return {
    postgres: {
      host: pg.host,
      port: pg.port,
      user: decodeURIComponent(pg.url.username) || 'postgres',
      password: decodeURIComponent(pg.url.password),
      database: decodeURIComponent(pg.url.pathname.replace(/^\//, '')) || 'postgres',
    },
    redis: {
      host: redis.host,
      port: redis.port,
      username: decodeURIComponent(redis.url.username),
      password: decodeURIComponent(redis.url.password),
    },
    kafka: { brokers, host: brokers[0].host, port: brokers[0].port },
  };
}

/** The stack starts services on loopback only; anything else it can only reuse. */
export function isLoopback(host) {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The address a server started here binds to: "localhost" pinned to IPv4. */
export function bindAddress(host) {
  return host === 'localhost' ? '127.0.0.1' : host;
}
