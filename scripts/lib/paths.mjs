import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this file belongs to. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** scripts/kafka: the pom that pins the broker's jars and its log4j configuration. */
export const KAFKA_ASSETS = path.join(REPO_ROOT, 'scripts', 'kafka');

/**
 * Where the local services keep their data, pid files and logs: `<repo>/.stack`, or STACK_DIR.
 * A second stack (another port, a scratch folder) must not see the first one's pid files, or it
 * would take that broker for its own.
 */
export function stackDir(env = process.env) {
  return env.STACK_DIR ? path.resolve(env.STACK_DIR) : path.join(REPO_ROOT, '.stack');
}
