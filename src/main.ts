import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { applySpringVariables } from './config-spring.js';
import { createLogger } from './logger.js';

/**
 * Process entry: configuration from the environment only, then serve until SIGTERM/SIGINT.
 * The first signal starts a graceful stop bounded by SHUTDOWN_TIMEOUT_MS; a second one, or the
 * deadline, forces the exit.
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
  const log = app.log;

  // A background task that rejects while a dependency is away (a refresh, a cache write) must not
  // take the whole instance and its sockets down with it: log it loudly and keep serving.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: forcing exit');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error('shutdown timed out: forcing exit');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    app.close().then(
      () => {
        log.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await app.listen({ port: config.PORT, host: config.HOST });
}

main().catch((error: unknown) => {
  createLogger('error', 'startup').fatal({ err: error }, 'failed to start');
  process.exit(1);
});
