import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The page only loads its own files and talks to its own origin; with this policy even a markup
 * injection the client failed to escape could not run a script or an inline handler.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // Older Chromium and Safari do not treat ws: to the same host as 'self'.
  "connect-src 'self' ws: wss:",
  // STOMP.js runs its heart-beat timer in a worker built from a blob, which background tabs do not throttle.
  'worker-src blob:',
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export const STOMP_BUNDLE_PATH = '/vendor/stomp.umd.min.js';

/**
 * `public/` sits at the project root, which is two levels above this file when run from source
 * (src/web) and three when run from the build (dist/src/web).
 */
export function findPublicDir(from = dirname(fileURLToPath(import.meta.url))): string {
  for (const up of ['../..', '../../..']) {
    const candidate = join(from, up, 'public');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  throw new Error(`web client: no public/index.html above ${from}`);
}

/** The browser bundle of @stomp/stompjs, resolved like any import so it follows the installed version. */
function stompBundleDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@stomp/stompjs'));
}

/** The browser client at `/` and the STOMP.js bundle it loads. */
export async function webClient(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? findPublicDir();
  const bundleDir = stompBundleDir();

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // Only the files present at start-up get routes; any other path keeps the API's 404 shape.
    wildcard: false,
    dotfiles: 'ignore',
    index: ['index.html'],
    setHeaders: (reply, path) => {
      reply.header('x-content-type-options', 'nosniff');
      if (path.endsWith('.html')) {
        reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
        reply.header('referrer-policy', 'no-referrer');
        // The page is tiny and changes with deployments; revalidating it is cheaper than a stale client.
        reply.header('cache-control', 'no-cache');
      }
    },
  });

  app.get(STOMP_BUNDLE_PATH, { schema: { hide: true } }, (_request, reply) =>
    reply.sendFile('stomp.umd.min.js', bundleDir, { maxAge: '1h' }),
  );
}
