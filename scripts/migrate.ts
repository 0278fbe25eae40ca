// `npm run db:migrate`: the same migration the app applies at start-up, by hand.
import { applySpringVariables } from '../src/config-spring.js';
import { ensureDatabaseExists, migrateDatabase } from '../src/db/migrate.js';

// DATABASE_URL, or the Spring version's DB_HOST/DB_PORT/DB_USERNAME/DB_PASSWORD, as the app reads them.
const url = applySpringVariables(process.env).env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/chat';
const created = await ensureDatabaseExists(url);
await migrateDatabase(url);
console.log(`${created ? 'created database and ' : ''}applied migrations to ${new URL(url).pathname.slice(1)}`);
