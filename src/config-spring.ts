/**
 * The deployment variables of the Spring version this service replaces (SPEC §3), so an existing
 * Compose file or Kubernetes manifest starts it unchanged:
 *
 * | Spring version's variables                          | stand for                                             |
 * | --------------------------------------------------- | ----------------------------------------------------- |
 * | `DB_HOST`, `DB_PORT`, `DB_USERNAME`, `DB_PASSWORD`   | `DATABASE_URL` postgres://user:password@host:port/chat |
 * | `REDIS_HOST`, `REDIS_PORT`, `REDIS_PASSWORD`         | `REDIS_URL` redis://:password@host:port               |
 * | `KAFKA_BOOTSTRAP_SERVERS`                            | `KAFKA_BROKERS`                                       |
 * | `SERVER_PORT`, `CHAT_ALLOWED_ORIGINS`, `CHAT_KAFKA_RETRY_ATTEMPTS`, `CHAT_KAFKA_RETRY_BACKOFF_MS` | `PORT`, `CORS_ORIGINS`, `CONSUMER_RETRY_ATTEMPTS`, `CONSUMER_RETRY_BACKOFF_MS` |
 *
 * A part left unset takes the Spring version's default: host 127.0.0.1, port 5432, and the
 * account its application.yml carried, `chat` / `chat1234` (its Compose file creates exactly that
 * account and sets no credentials for the app); Redis 127.0.0.1:6379 without a password. The
 * database is always `chat`, as the Spring version's was. When this service's own variable is set
 * as well it wins, and a disagreement is reported (`conflicts`), so the operator learns that one
 * of the two is ignored. No report carries a value.
 */

type Env = Record<string, string | undefined>;

export interface SpringVariables {
  /** The environment, with the variables the Spring ones stand for filled in where unset. */
  env: Env;
  /** Spring variables whose value is invalid, in the configuration error's `NAME: problem` form. */
  issues: string[];
  /** One line per variable of this service that disagrees with the Spring ones set beside it. */
  conflicts: string[];
}

interface UrlParts {
  scheme: string;
  /** Names of the variables, for the error message. */
  hostVariable: string;
  portVariable: string;
  host: string;
  port: string;
  user?: string;
  password?: string;
  path?: string;
}

/** Spring variables that are only another name for one of this service's. */
const RENAMED: [spring: string, own: string][] = [
  ['SERVER_PORT', 'PORT'],
  ['CHAT_ALLOWED_ORIGINS', 'CORS_ORIGINS'],
  ['CHAT_KAFKA_RETRY_ATTEMPTS', 'CONSUMER_RETRY_ATTEMPTS'],
  ['CHAT_KAFKA_RETRY_BACKOFF_MS', 'CONSUMER_RETRY_BACKOFF_MS'],
];

const PORT = /^\d{1,5}$/;
/** Anything a URL would read as more than a host is refused; `new URL` checks the rest. */
const HOST = /^[^\s/?#@\\]+$/;

const isSet = (env: Env, name: string) => env[name] !== undefined && env[name] !== '';
const setAmong = (env: Env, names: string[]) => names.filter((name) => isSet(env, name));

/** The URL the variables describe (user and password percent-encoded), or undefined after an issue. */
function buildUrl(parts: UrlParts, issues: string[]): URL | undefined {
  const port = Number(parts.port);
  const hostOk = HOST.test(parts.host);
  if (!hostOk) issues.push(`${parts.hostVariable}: expected a host name or address`);
  if (!PORT.test(parts.port) || port < 1 || port > 65535) issues.push(`${parts.portVariable}: expected a port number (1-65535)`);
  if (!hostOk || !PORT.test(parts.port) || port < 1 || port > 65535) return undefined;
  // An IPv6 literal goes in brackets.
  const host = parts.host.includes(':') && !parts.host.startsWith('[') ? `[${parts.host}]` : parts.host;
  try {
    const url = new URL(`${parts.scheme}://${host}:${parts.port}${parts.path ?? ''}`);
    if (parts.user) url.username = parts.user;
    if (parts.password) url.password = parts.password;
    return url;
  } catch {
    issues.push(`${parts.hostVariable}: expected a host name or address`);
    return undefined;
  }
}

/** Whether `given` differs from `built` in a part that one of the `named` variables sets. */
function disagrees(given: string, built: URL, named: { host: boolean; port: boolean; user: boolean; password: boolean }): boolean {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return false; // The URL itself is invalid: the configuration schema reports that.
  }
  const defaultPort = built.protocol === 'redis:' ? '6379' : '5432';
  return (
    (named.host && url.hostname !== built.hostname) ||
    (named.port && (url.port || defaultPort) !== built.port) ||
    (named.user && url.username !== built.username) ||
    (named.password && url.password !== built.password)
  );
}

const brokerSet = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .sort()
    .join(',');

export function applySpringVariables(input: Env): SpringVariables {
  const env: Env = { ...input };
  const issues: string[] = [];
  const conflicts: string[] = [];

  const database = setAmong(input, ['DB_HOST', 'DB_PORT', 'DB_USERNAME', 'DB_PASSWORD']);
  const databaseUrl =
    database.length > 0
      ? buildUrl(
          {
            scheme: 'postgres',
            hostVariable: 'DB_HOST',
            portVariable: 'DB_PORT',
            host: input.DB_HOST || '127.0.0.1',
            port: input.DB_PORT || '5432',
            user: input.DB_USERNAME || 'chat',
            password: input.DB_PASSWORD || 'chat1234',
            path: '/chat',
          },
          issues,
        )
      : undefined;
  if (databaseUrl && !isSet(input, 'DATABASE_URL')) env.DATABASE_URL = databaseUrl.href;
  else if (databaseUrl && disagrees(input.DATABASE_URL!, databaseUrl, named(input, 'DB_HOST', 'DB_PORT', 'DB_USERNAME', 'DB_PASSWORD'))) {
    conflicts.push(`DATABASE_URL is used; ${database.join(', ')} describe another server or account and are ignored`);
  }

  const redis = setAmong(input, ['REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD']);
  const redisUrl =
    redis.length > 0
      ? buildUrl(
          {
            scheme: 'redis',
            hostVariable: 'REDIS_HOST',
            portVariable: 'REDIS_PORT',
            host: input.REDIS_HOST || '127.0.0.1',
            port: input.REDIS_PORT || '6379',
            password: input.REDIS_PASSWORD,
          },
          issues,
        )
      : undefined;
  if (redisUrl && !isSet(input, 'REDIS_URL')) env.REDIS_URL = redisUrl.href;
  else if (redisUrl && disagrees(input.REDIS_URL!, redisUrl, named(input, 'REDIS_HOST', 'REDIS_PORT', undefined, 'REDIS_PASSWORD'))) {
    conflicts.push(`REDIS_URL is used; ${redis.join(', ')} describe another server or password and are ignored`);
  }

  if (isSet(input, 'KAFKA_BOOTSTRAP_SERVERS')) {
    if (!isSet(input, 'KAFKA_BROKERS')) env.KAFKA_BROKERS = input.KAFKA_BOOTSTRAP_SERVERS;
    else if (brokerSet(input.KAFKA_BROKERS!) !== brokerSet(input.KAFKA_BOOTSTRAP_SERVERS!)) {
      conflicts.push('KAFKA_BROKERS is used; KAFKA_BOOTSTRAP_SERVERS names other brokers and is ignored');
    }
  }

  for (const [spring, own] of RENAMED) {
    if (!isSet(input, spring)) continue;
    if (!isSet(input, own)) env[own] = input[spring];
    else if (input[own] !== input[spring]) conflicts.push(`${own} is used; ${spring} says otherwise and is ignored`);
  }

  return { env, issues, conflicts };
}

function named(env: Env, host: string, port: string, user: string | undefined, password: string) {
  return { host: isSet(env, host), port: isSet(env, port), user: user !== undefined && isSet(env, user), password: isSet(env, password) };
}
