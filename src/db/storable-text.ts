/**
 * Text PostgreSQL can hold as it was sent. A `text` column refuses U+0000 outright, and a lone
 * UTF-16 surrogate has no UTF-8 form: the driver would store U+FFFD in its place, and a `jsonb`
 * literal holding one is refused. Accepting either at the edge means a 500, or worse a RECEIPT for
 * a chat message that the persistence consumer can never store. So every text field a client
 * fills is checked here, and refused with a validation error naming the field.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this refuses.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const STORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired surrogates';

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}
