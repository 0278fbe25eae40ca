import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { applySpringVariables } from './config-spring.js';
import { createLogger, type Logger } from './logger.js';
import { stopOnSignal } from './shutdown/stop-on-signal.js';

/**
 * Process entry: configuration from the environment only, then serve until SIGTERM/SIGINT.
 * The first stop request drains gracefully within SHUTDOWN_TIMEOUT_MS; a second one, or the
 * deadline, forces the exit (src/shutdown).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  // Before start-up, which a URL naming the wrong server may well make fail.
  const conflicts = applySpringVariables(process.env).conflicts;
  if (conflicts.length > 0) {
    const startupLog = createLogger(config.LOG_LEVEL, config.INSTANCE_ID);
    for (const conflict of conflicts) startupLog.warn(conflict);
  }

  const app = await buildApp(config);
  const log = app.log as Logger;

  // A background task that rejects while a dependency is away (a refresh, a cache write) must not
  // take the whole instance and its sockets down with it: log it loudly and keep serving.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });

  stopOnSignal({ log, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, close: () => app.close() });

  await app.listen({ port: config.PORT, host: config.HOST });
}

main().catch((error: unknown) => {
  createLogger('error', 'startup').fatal({ err: error }, 'failed to start');
  process.exit(1);
});
