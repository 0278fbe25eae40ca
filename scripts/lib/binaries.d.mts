/** `name` on PATH, or `name` itself when it is a path to an executable. */
export function findOnPath(name: string, env?: NodeJS.ProcessEnv): string | undefined;
/** A PostgreSQL server program: /usr/lib/postgresql/<newest major>/bin first, then PATH. */
export function findPgBin(name: string): string | undefined;
/** nginx: NGINX_BIN, /usr/sbin, /usr/local/sbin, then PATH. */
export function findNginx(env?: NodeJS.ProcessEnv): string | undefined;
/** Java `minMajor` (default 17) or newer from JAVA_HOME or PATH; throws ScriptError otherwise. */
export function findJava(options?: { minMajor?: number; env?: NodeJS.ProcessEnv }): string;
/** mvn on PATH; throws ScriptError when missing. */
export function findMvn(env?: NodeJS.ProcessEnv): string;
/** redis-server on PATH; throws ScriptError when missing. */
export function findRedisServer(env?: NodeJS.ProcessEnv): string;
