import { z } from 'zod';

/**
 * Ids, wherever a client names a user, a room or a message (SPEC §6: "Ids may arrive as JSON
 * numbers or as strings of decimal digits"). Ids often come from the DOM or a URL as text, and
 * Jackson accepted `"7"` for a `Long`, so a body may carry either form; both become a number.
 *
 * A string must be the canonical decimal form: digits only, no sign, no leading zero, no spaces,
 * no exponent or hex (`"1e3"`, `"0x1"`, `" 1"`, `"01"`, `""` are refused), as `Number()` would
 * read most of those as some other id. Either form must be a positive safe integer: ids are
 * bigserials, and a larger number would silently round to another id in JavaScript.
 */
const CANONICAL_DIGITS = /^[1-9]\d{0,15}$/;
const ID_MESSAGE = 'must be a positive integer';

// zod's int() also refuses anything beyond Number.MAX_SAFE_INTEGER; `abort` keeps it one issue.
const positiveSafeInteger = z.number({ error: ID_MESSAGE }).int({ error: ID_MESSAGE, abort: true }).min(1, ID_MESSAGE);

/** An id in a path or query string, which is always text. */
export const idParamSchema = z.string().regex(CANONICAL_DIGITS, ID_MESSAGE).transform(Number).pipe(positiveSafeInteger);

/** An id in a JSON body (REST or STOMP): a number, or a string of decimal digits. */
export const idSchema = z.union([positiveSafeInteger, idParamSchema], { error: ID_MESSAGE });
