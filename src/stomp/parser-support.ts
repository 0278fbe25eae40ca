/**
 * What the parser needs besides its state machine: its limits and the refusals that enforce them
 * (STOMP 1.2 "Size Limits", "Header content-length"), and input conversion. Limits are validated
 * once, at construction; every refusal is a StompProtocolError with a code from the catalogue
 * and a message that names the limit.
 */
import { StompProtocolError, preview, type StompErrorCode } from './errors.js';

export interface StompParserLimits {
  /** Whole frame: command line, header lines, blank line, body and NULL. */
  maxFrameBytes: number;
  maxHeaders: number;
  /** One header line, without its EOL. */
  maxHeaderLineBytes: number;
  maxBodyBytes: number;
}

export const DEFAULT_PARSER_LIMITS: Readonly<StompParserLimits> = Object.freeze({
  maxFrameBytes: 64 * 1024,
  maxHeaders: 32,
  maxHeaderLineBytes: 8 * 1024,
  maxBodyBytes: 64 * 1024,
});

/** Strict octet count: ASCII digits only, no sign, no spaces (1.2 values are never trimmed). */
export function parseContentLength(value: string): number {
  if (!/^[0-9]+$/.test(value)) {
    throw new StompProtocolError('bad-content-length', `content-length ${preview(value)} is not an octet count`);
  }
  // Huge digit strings become large numbers or Infinity, which the limit checks then reject.
  return Number(value);
}

export function resolveLimits(options: Partial<StompParserLimits>): StompParserLimits {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_PARSER_LIMITS.maxFrameBytes;
  const limits: StompParserLimits = {
    maxFrameBytes,
    maxHeaders: options.maxHeaders ?? DEFAULT_PARSER_LIMITS.maxHeaders,
    maxHeaderLineBytes: options.maxHeaderLineBytes ?? DEFAULT_PARSER_LIMITS.maxHeaderLineBytes,
    maxBodyBytes: options.maxBodyBytes ?? maxFrameBytes,
  };
  for (const [name, value] of Object.entries(limits)) {
    const least = name === 'maxHeaders' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new RangeError(`${name} must be an integer of at least ${least}, got ${String(value)}`);
    }
  }
  if (limits.maxBodyBytes > limits.maxFrameBytes) {
    throw new RangeError(`maxBodyBytes (${limits.maxBodyBytes}) must not exceed maxFrameBytes (${limits.maxFrameBytes})`);
  }
  return limits;
}

export function lineTooLong(code: StompErrorCode, maxBytes: number): StompProtocolError {
  return code === 'bad-command'
    ? new StompProtocolError('bad-command', 'command line is longer than any known command')
    : new StompProtocolError(code, `header line exceeds ${maxBytes} octets`);
}

export function frameTooLarge(maxFrameBytes: number): StompProtocolError {
  return new StompProtocolError('frame-too-large', `frame exceeds the ${maxFrameBytes}-byte frame limit`);
}

export function tooManyHeaders(maxHeaders: number): StompProtocolError {
  return new StompProtocolError('too-many-headers', `frame has more than ${maxHeaders} headers`);
}

export function bodyNotAllowed(command: string): StompProtocolError {
  return new StompProtocolError('body-not-allowed', `${command} frames must not have a body`);
}

export function toBuffer(input: Buffer | Uint8Array | string): Buffer {
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (Buffer.isBuffer(input)) return input;
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}
