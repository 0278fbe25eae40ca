import type { z } from 'zod';

/** A record that can never be handled, however often it is retried: it is bound for the DLT. */
export class PoisonRecordError extends Error {
  override name = 'PoisonRecordError';
}

/**
 * Parses a JSON record value against its schema. Anything unreadable is the record's own fault,
 * never worth waiting for, so every failure is a PoisonRecordError naming what was wrong.
 */
export function decodeJsonRecord<T>(schema: z.ZodType<T>, value: Buffer | string | null, what: string): T {
  if (value === null) throw new PoisonRecordError('record has no value');
  let json: unknown;
  try {
    json = JSON.parse(value.toString());
  } catch (error) {
    throw new PoisonRecordError(`value is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new PoisonRecordError(`invalid ${what}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  return parsed.data;
}
