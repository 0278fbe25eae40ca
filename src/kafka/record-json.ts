import { z } from 'zod';

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
    throw new PoisonRecordError(
      `invalid ${what}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Jackson's LocalDateTime array, [year, month, day, hour, minute, second?, nanosecond?], as UTC. */
const fromJacksonArray = ([year, month, day, hour = 0, minute = 0, second = 0, nanos = 0]: number[]) =>
  new Date(Date.UTC(year!, month! - 1, day!, hour, minute, second, Math.floor(nanos / 1_000_000))).toISOString();

/**
 * A record's `timestamp`, always an ISO-8601 string with an offset once parsed. This service
 * writes that form; records the Spring version left on a topic carry a Jackson LocalDateTime
 * instead, which Spring Kafka's JsonSerializer writes as an array ([2026, 2, 8, 12, 34, 56,
 * 123456789]), or a local date-time string. Those have no zone and are read as UTC, so a topic
 * taken over from the Spring version is consumed rather than dead-lettered.
 */
export const recordTimestampSchema = z.union([
  z.iso.datetime({ offset: true }),
  z.iso.datetime({ local: true }).transform((local) => new Date(`${local}Z`).toISOString()),
  z.array(z.number().int().nonnegative()).min(3).max(7).transform(fromJacksonArray),
]);
