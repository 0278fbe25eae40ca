// `npm run db:migrate`: the same migration the app applies at start-up, by hand.
import { ensureDatabaseExists, migrateDatabase } from '../src/db/migrate.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/chat';
const created = await ensureDatabaseExists(url);
await migrateDatabase(url);
console.log(`${created ? 'created database and ' : ''}applied migrations to ${new URL(url).pathname.slice(1)}`);
