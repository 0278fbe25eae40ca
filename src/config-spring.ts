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

/** One URL of this service and the Spring variables that describe its parts, with their defaults. */
interface UrlTarget {
  own: 'DATABASE_URL' | 'REDIS_URL';
  scheme: string;
  host: [variable: string, fallback: string];
  port: [variable: string, fallback: string];
  user?: [variable: string, fallback: string];
  password: [variable: string, fallback?: string];
  path?: string;
  /** What a disagreement is about, for the report. */
  names: string;
}

const URL_TARGETS: UrlTarget[] = [
  {
    own: 'DATABASE_URL',
    scheme: 'postgres',
    host: ['DB_HOST', '127.0.0.1'],
    port: ['DB_PORT', '5432'],
    user: ['DB_USERNAME', 'chat'],
    password: ['DB_PASSWORD', 'chat1234'],
    path: '/chat',
    names: 'server or account',
  },
  {
    own: 'REDIS_URL',
    scheme: 'redis',
    host: ['REDIS_HOST', '127.0.0.1'],
    port: ['REDIS_PORT', '6379'],
    password: ['REDIS_PASSWORD'],
    names: 'server or password',
  },
];

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

const isSet = (env: Env, name: string | undefined) => name !== undefined && env[name] !== undefined && env[name] !== '';
const value = (env: Env, [name, fallback]: [string, string?]) => (isSet(env, name) ? env[name]! : fallback);

/** The URL the variables describe (user and password percent-encoded), or undefined after an issue. */
function buildUrl(env: Env, target: UrlTarget, issues: string[]): URL | undefined {
  const host = value(env, target.host)!;
  const port = value(env, target.port)!;
  const hostOk = HOST.test(host);
  const portOk = PORT.test(port) && Number(port) >= 1 && Number(port) <= 65535;
  if (!hostOk) issues.push(`${target.host[0]}: expected a host name or address`);
  if (!portOk) issues.push(`${target.port[0]}: expected a port number (1-65535)`);
  if (!hostOk || !portOk) return undefined;
  // An IPv6 literal goes in brackets.
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  try {
    const url = new URL(`${target.scheme}://${urlHost}:${port}${target.path ?? ''}`);
    const user = target.user && value(env, target.user);
    const password = value(env, target.password);
    if (user) url.username = user;
    if (password) url.password = password;
    return url;
  } catch {
    issues.push(`${target.host[0]}: expected a host name or address`);
    return undefined;
  }
}

/** Whether `given` differs from `built` in a part that one of the target's variables sets. */
function disagrees(env: Env, given: string, built: URL, target: UrlTarget): boolean {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return false; // The URL itself is invalid: the configuration schema reports that.
  }
  return (
    (isSet(env, target.host[0]) && url.hostname !== built.hostname) ||
    (isSet(env, target.port[0]) && (url.port || target.port[1]) !== built.port) ||
    (isSet(env, target.user?.[0]) && url.username !== built.username) ||
    (isSet(env, target.password[0]) && url.password !== built.password)
  );
}

const brokerSet = (list: string) =>
  list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .sort()
    .join(',');

export function applySpringVariables(input: Env): SpringVariables {
  const env: Env = { ...input };
  const issues: string[] = [];
  const conflicts: string[] = [];

  for (const target of URL_TARGETS) {
    const given = [target.host, target.port, target.user, target.password].map((part) => part?.[0]).filter((name) => isSet(input, name));
    if (given.length === 0) continue;
    const built = buildUrl(input, target, issues);
    if (!built) continue;
    if (!isSet(input, target.own)) env[target.own] = built.href;
    else if (disagrees(input, input[target.own]!, built, target)) {
      conflicts.push(`${target.own} is used; ${given.join(', ')} describe another ${target.names} and are ignored`);
    }
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
