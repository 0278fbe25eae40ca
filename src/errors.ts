/**
 * One error model for the whole service. Expected failures are AppErrors with a code; the code
 * decides the HTTP status and whether a STOMP session survives it. Anything else is a bug and is
 * answered as a bare 500 (HTTP) or a generic ERROR (STOMP), never with its detail.
 */
export const errorCatalogue = {
  VALIDATION: { status: 400, error: 'Bad Request' },
  BAD_REQUEST: { status: 400, error: 'Bad Request' },
  UNAUTHORIZED: { status: 401, error: 'Unauthorized' },
  FORBIDDEN: { status: 403, error: 'Forbidden' },
  NOT_FOUND: { status: 404, error: 'Not Found' },
  CONFLICT: { status: 409, error: 'Conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, error: 'Payload Too Large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, error: 'Unsupported Media Type' },
  RATE_LIMITED: { status: 429, error: 'Too Many Requests' },
  UNAVAILABLE: { status: 503, error: 'Service Unavailable' },
  INTERNAL: { status: 500, error: 'Internal Server Error' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: { retryAfterSeconds?: number; fields?: string[] },
  ) {
    super(message);
    this.name = 'AppError';
    this.status = errorCatalogue[code].status;
  }
}

export const badRequest = (message: string) => new AppError('BAD_REQUEST', message);
export const unauthorized = (message = 'Authentication required') => new AppError('UNAUTHORIZED', message);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
export const notFound = (message: string) => new AppError('NOT_FOUND', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const unavailable = (message: string) => new AppError('UNAVAILABLE', message);

/** The one response shape every HTTP error takes. */
export interface ErrorBody {
  status: number;
  error: string;
  message: string;
  path: string;
  timestamp: string;
}

export function errorBody(status: number, message: string, path: string): ErrorBody {
  const entry = Object.values(errorCatalogue).find((candidate) => candidate.status === status);
  return {
    status,
    error: entry?.error ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request'),
    message,
    path,
    timestamp: new Date().toISOString(),
  };
}
