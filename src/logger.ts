import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Options shared by the Fastify logger and standalone loggers. Secrets never reach a log line:
 * authorization headers, passwords and tokens are redacted wherever they appear.
 */
export function loggerOptions(level: string, instanceId: string): LoggerOptions {
  return {
    level,
    base: { instance: instanceId },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.password',
        'password',
        '*.passwordHash',
        '*.token',
        'token',
        'passcode',
      ],
      censor: '[redacted]',
    },
  };
}

export function createLogger(level: string, instanceId: string): Logger {
  return pino(loggerOptions(level, instanceId));
}
