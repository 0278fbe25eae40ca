/**
 * Protocol errors raised by the STOMP codec.
 *
 * Invariants:
 * - Every rejection of client bytes is a StompProtocolError carrying one code from
 *   `stompErrorCatalogue`; anything else escaping the codec is a bug, not bad input.
 * - Every protocol error is fatal (STOMP 1.2 "Size Limits" and "Value Encoding": send ERROR, then
 *   close), so there is no retry flag: the session maps `code` to an ERROR frame and closes.
 * - `message` never contains more than a short, printable preview of client bytes, because it is
 *   echoed back in the ERROR frame's `message` header.
 */

/** Each code with the short, client-safe summary used for an ERROR frame's `message` header. */
export const stompErrorCatalogue = {
  'frame-too-large': 'frame exceeds the maximum frame size',
  'body-too-large': 'frame body exceeds the maximum body size',
  'too-many-headers': 'frame has too many headers',
  'header-line-too-long': 'header line exceeds the maximum length',
  'bad-content-length': 'content-length is not a valid octet count',
  'bad-escape': 'header contains an undefined escape sequence',
  'malformed-header': 'malformed header line',
  'bad-terminator': 'frame body is not followed by a NULL octet',
  'bad-command': 'unknown or malformed command',
  'body-not-allowed': 'this frame must not have a body',
  'bad-heart-beat': 'heart-beat header must be two integers separated by a comma',
  'unsupported-version': 'no protocol version in common',
} as const;

export type StompErrorCode = keyof typeof stompErrorCatalogue;

export class StompProtocolError extends Error {
  override readonly name = 'StompProtocolError';

  constructor(
    readonly code: StompErrorCode,
    message: string = stompErrorCatalogue[code],
  ) {
    super(message);
  }
}

export function isStompProtocolError(error: unknown): error is StompProtocolError {
  return error instanceof StompProtocolError;
}

/**
 * A bounded, printable rendering of client bytes for error messages: a hostile client must not be
 * able to make us echo kilobytes or control characters back in an ERROR header.
 */
export function preview(text: string, maxChars = 32): string {
  const clipped = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  return JSON.stringify(clipped);
}
