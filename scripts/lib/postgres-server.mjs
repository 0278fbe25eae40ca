/**
 * What it takes to run a PostgreSQL server of our own: PostgreSQL refuses to run as root, so when
 * we are root its programs run as the postgres OS user, who must own its folders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findPgBin } from './binaries.mjs';
import { ScriptError } from './errors.mjs';
import { run } from './processes.mjs';

/** `{ uid, gid }` of the postgres OS user when we are root (spawn options), else `{}`. */
export function postgresOsUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  let passwd = '';
  try {
    passwd = fs.readFileSync('/etc/passwd', 'utf8');
  } catch {
    // No passwd file: the error below says what is missing.
  }
  const line = passwd.split('\n').find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new ScriptError('running as root, and there is no "postgres" OS user to run PostgreSQL as (it refuses to run as root)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Gives `dir` and everything below it to `owner`; nothing to do when it names no uid. */
export function chownTree(dir, owner) {
  if (owner.uid === undefined || owner.gid === undefined) return;
  fs.chownSync(dir, owner.uid, owner.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(child, owner);
    else fs.lchownSync(child, owner.uid, owner.gid);
  }
}

/**
 * A fresh cluster in `dataDir` (which must not exist yet): `user` as superuser, trust auth, UTF8,
 * C locale, no fsync of the initial files. Its parent must belong to `owner` already.
 */
export function initPostgresData({ dataDir, user = 'postgres', owner = {} }) {
  const initdb = findPgBin('initdb');
  if (!initdb)
    throw new ScriptError('no initdb found (looked in /usr/lib/postgresql/*/bin and PATH); install the PostgreSQL server package');
  const r = run(initdb, ['-D', dataDir, '-U', user, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], {
    ...owner,
    cwd: path.dirname(dataDir),
  });
  if (!r.ok) throw new ScriptError(`initdb ${dataDir} failed:\n${r.stdout}${r.stderr}`);
  return initdb;
}
