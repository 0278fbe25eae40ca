/**
 * Where the programs the scripts run live. Debian puts PostgreSQL's server binaries under
 * /usr/lib/postgresql/<major>/bin and nginx in /usr/sbin, neither on every PATH; Java may come
 * from JAVA_HOME. Each finder returns an absolute path or undefined; the caller says what to
 * install.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ScriptError } from './errors.mjs';

function isExecutableFile(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `name` on PATH (no `which` needed), or `name` itself when it is a path to an executable. */
export function findOnPath(name, env = process.env) {
  if (name.includes('/')) return isExecutableFile(name) ? path.resolve(name) : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

const PG_BASE = '/usr/lib/postgresql';

/** A PostgreSQL server program (initdb, pg_ctl, postgres, createdb): the newest Debian major first, then PATH. */
export function findPgBin(name) {
  let majors = [];
  try {
    majors = fs
      .readdirSync(PG_BASE)
      .filter((major) => /^\d+$/.test(major))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    // Not the Debian layout: PATH it is.
  }
  for (const major of majors) {
    const candidate = path.join(PG_BASE, major, 'bin', name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return findOnPath(name);
}

/** nginx: NGINX_BIN, the usual sbin folders, then PATH. */
export function findNginx(env = process.env) {
  for (const candidate of [env.NGINX_BIN, '/usr/sbin/nginx', '/usr/local/sbin/nginx']) {
    if (candidate && isExecutableFile(candidate)) return candidate;
  }
  return findOnPath('nginx', env);
}

/** The major version `java -version` reports (8 for "1.8.0_…"), or 0 when it says nothing readable. */
function javaMajor(java) {
  const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr ?? ''}${r.stdout ?? ''}`);
  if (!m) return 0;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

/** Java `minMajor` or newer from JAVA_HOME or PATH (Apache Kafka 4.x needs 17); throws ScriptError otherwise. */
export function findJava({ minMajor = 17, env = process.env } = {}) {
  const fromHome = env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : undefined;
  const java = (fromHome && isExecutableFile(fromHome) ? fromHome : undefined) ?? findOnPath('java', env);
  if (!java)
    throw new ScriptError(
      `no java found (JAVA_HOME or PATH); Apache Kafka needs Java ${minMajor}+ (apt-get install openjdk-17-jre-headless)`,
    );
  const major = javaMajor(java);
  if (major < minMajor) throw new ScriptError(`${java} is Java ${major || '?'}; Apache Kafka needs Java ${minMajor}+`);
  return java;
}

/** Maven, which resolves the broker's jars; throws ScriptError when it is missing. */
export function findMvn(env = process.env) {
  const mvn = findOnPath('mvn', env);
  if (!mvn) throw new ScriptError('no mvn on PATH to resolve the Kafka broker jars (apt-get install maven)');
  return mvn;
}

/** redis-server on PATH; throws ScriptError when it is missing. */
export function findRedisServer(env = process.env) {
  const server = findOnPath('redis-server', env);
  if (!server) throw new ScriptError('no redis-server binary on PATH (apt-get install redis-server)');
  return server;
}
