import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, errorBody } from '../errors.js';

/**
 * Every HTTP error leaves through here and takes the shape {status, error, message, path, timestamp}.
 * Expected errors keep their message; anything unexpected is logged with its stack and answered
 * with a bare 500, so no SQL, stack or secret ever reaches a client.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError | Error, request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;

    if (error instanceof AppError) {
      if (error.details?.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.details.retryAfterSeconds));
      return reply.status(error.status).send(errorBody(error.status, error.message, path));
    }

    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = (error as FastifyError).validationContext ?? 'body';
      const message = error.validation
        .map((issue) => {
          const field =
            issue.instancePath.replace(/^\//, '').replace(/\//g, '.') ||
            (issue.params as { issue?: { path?: unknown[] } })?.issue?.path?.join('.') ||
            where;
          return `${field}: ${issue.message}`;
        })
        .join('; ');
      return reply.status(400).send(errorBody(400, message, path));
    }

    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own client errors (broken JSON, wrong content type, body too large) are safe to name.
      if (status === 429) {
        const retryAfter = reply.getHeader('retry-after');
        if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
      }
      return reply.status(status).send(errorBody(status, error.message, path));
    }

    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody(500, 'Internal server error', path));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    reply.status(404).send(errorBody(404, `No route for ${request.method} ${path}`, path));
  });
}
