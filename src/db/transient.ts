/**
 * Whether a database error is the database being away (retry until it is back) rather than
 * something wrong with the data (retry a few times, then dead-letter).
 */
const transientClientCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (transientClientCodes.has(code)) return true;
  // SQLSTATE classes: 08 connection exception, 57P operator intervention (shutdown, starting up),
  // 53 insufficient resources, 40001/40P01 serialization failure and deadlock.
  return /^08|^57P|^53/.test(code) || code === '40001' || code === '40P01';
}
