import type { IncomingMessage } from 'node:http';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Query parameters that carry credentials: a browser's WebSocket cannot set headers, so its token rides in the URL. */
const SECRET_PARAMETER = /^(access_token|token|jwt|password|passcode|secret)$/i;
/** Three base64url segments starting with an encoded `{"`: a JWT, wherever it appears. */
const JWT = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

/** `url` with the values of credential parameters, and anything shaped like a JWT, replaced. */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  const redacted =
    queryAt < 0
      ? url
      : `${url.slice(0, queryAt + 1)}${url
          .slice(queryAt + 1)
          .split('&')
          .map((pair) => {
            const equals = pair.indexOf('=');
            const name = equals < 0 ? pair : pair.slice(0, equals);
            return SECRET_PARAMETER.test(decodeName(name)) ? `${name}=[redacted]` : pair;
          })
          .join('&')}`;
  return redactTokens(redacted);
}

/** Fastify decodes parameter names, so `access%5Ftoken` is the token parameter too. */
function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}

function redactTokens(text: string): string {
  return text.includes('eyJ') ? text.replace(JWT, '[redacted]') : text;
}

/**
 * Options shared by the Fastify logger and standalone loggers. Secrets never reach a log line:
 * authorization headers, passwords and tokens are redacted wherever they appear as fields, the
 * request URL loses its credential parameters, and as a last guard every line is searched for
 * anything shaped like a JWT before it is written.
 *
 * The destination is synchronous. pino's default writes asynchronously through libuv's thread
 * pool, where librdkafka's blocking calls can hold every thread while a broker does not answer:
 * the log then stalled exactly when it mattered, and lines queued before a forced exit were lost.
 */
export function loggerOptions(level: string, instanceId: string): LoggerOptions & { stream: DestinationStream } {
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
    serializers: {
      // Fastify's own request serializer, with the URL cleaned.
      req: (request: IncomingMessage & { ip?: string; host?: string }) => ({
        method: request.method,
        url: redactUrl(request.url ?? ''),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
    hooks: { streamWrite: redactTokens },
    stream: pino.destination({ dest: 1, sync: true }),
  };
}

export function createLogger(level: string, instanceId: string): Logger {
  const options = loggerOptions(level, instanceId);
  return pino(options, options.stream);
}
