import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** Base URLs of the real services the tests use; the same defaults as the app (SPEC §3). */
export const serviceUrls = {
  database: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/chat',
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  kafka: process.env.KAFKA_BROKERS ?? '127.0.0.1:29092',
};

export const uniqueSuffix = () => `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

/** A URL for a database of its own on the test server; the app creates it at start-up. */
export function isolatedDatabaseUrl(name: string): string {
  const url = new URL(serviceUrls.database);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const admin = new URL(databaseUrl);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A port nothing listens on, for "dependency unreachable" tests. */
export const DEAD_PORT = 1;
