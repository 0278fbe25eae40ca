export interface OsUser {
  uid?: number;
  gid?: number;
}
/** `{ uid, gid }` of the postgres OS user when we are root, else `{}`; throws ScriptError when root has no such user. */
export function postgresOsUser(): OsUser;
/** Gives `dir` and everything below it to `owner` (nothing to do without a uid). */
export function chownTree(dir: string, owner: OsUser): void;
/** initdb a fresh cluster (trust auth, UTF8, C locale); returns the initdb it ran. */
export function initPostgresData(options: { dataDir: string; user?: string; owner?: OsUser }): string;
