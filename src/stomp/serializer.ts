/**
 * Frame serialisation (STOMP 1.2 "STOMP Frames", "Value Encoding", "Header content-length";
 * 1.0 and 1.1 sessions pass their escaping mode).
 *
 * Invariants:
 * - The output is always one whole frame: command, LF-terminated header lines, a blank line, the
 *   body and the NULL octet, in a single Buffer built with one allocation, so a broadcast can write
 *   the very same bytes to every subscriber.
 * - Header names and values are escaped for the mode; by default the mode follows the command
 *   (CONNECTED unescaped, every other frame 1.2). No mode lets a raw CR or LF into a header.
 * - A content-length we add is computed from the body here and replaces any the caller passed, so
 *   the header and the body cannot disagree; MESSAGE frames always carry one.
 */
import { encodeHeaderText, headerEscaping, type HeaderEscaping } from './escaping.js';

/** Ordered pairs (kept in order, repeats allowed) or a record (undefined values are skipped). */
export type HeaderInput = Iterable<readonly [string, string]> | Readonly<Record<string, string | number | undefined>>;

export interface SerializeOptions {
  /** Defaults to the 1.2 rules for the command: none for CONNECT/STOMP/CONNECTED, else '1.2'. */
  escape?: HeaderEscaping;
  /** Add `content-length` whenever a body is given (even an empty one). Defaults to true. */
  contentLength?: boolean;
}

export interface MessageFields {
  destination: string;
  subscription: string;
  messageId: string;
  /** The `ack` header of a client-acknowledged subscription's MESSAGE (STOMP 1.2). */
  ack?: string;
  contentType?: string;
  /** Written after the standard headers, so on a repeated name the standard value wins. */
  extraHeaders?: HeaderInput;
  /** The subscriber's session escaping: '1.2' (default), '1.1' or 'none' for 1.0. */
  escape?: HeaderEscaping;
}

const COMMAND_PATTERN = /^[A-Z]+$/;

export function serializeFrame(
  command: string,
  headers: HeaderInput = [],
  body?: Buffer | Uint8Array | string,
  options: SerializeOptions = {},
): Buffer {
  if (!COMMAND_PATTERN.test(command)) throw new TypeError(`not a STOMP command: ${JSON.stringify(command)}`);
  const mode = options.escape ?? headerEscaping('1.2', command);
  const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const addLength = bodyBytes !== undefined && (options.contentLength ?? true);

  let head = `${command}\n`;
  for (const [name, value] of headerEntries(headers)) {
    if (addLength && name === 'content-length') continue;
    head += headerLine(name, value, mode);
  }
  if (addLength) head += `content-length:${bodyBytes.length}\n`;
  return assemble(`${head}\n`, bodyBytes);
}

/**
 * A MESSAGE frame for one subscription. A broadcast calls this once per subscription id with the
 * same body Buffer and writes the result to every subscriber of that id.
 */
export function serializeMessage(fields: MessageFields, body: Buffer | Uint8Array): Buffer {
  const mode = fields.escape ?? '1.2';
  let head =
    'MESSAGE\n' +
    headerLine('destination', fields.destination, mode) +
    headerLine('message-id', fields.messageId, mode) +
    headerLine('subscription', fields.subscription, mode);
  if (fields.ack !== undefined) head += headerLine('ack', fields.ack, mode);
  if (fields.contentType !== undefined) head += headerLine('content-type', fields.contentType, mode);
  head += `content-length:${body.length}\n`;
  if (fields.extraHeaders !== undefined) {
    for (const [name, value] of headerEntries(fields.extraHeaders)) {
      if (name !== 'content-length') head += headerLine(name, value, mode);
    }
  }
  return assemble(`${head}\n`, body);
}

function* headerEntries(headers: HeaderInput): Iterable<readonly [string, string]> {
  if (Symbol.iterator in headers) {
    yield* headers as Iterable<readonly [string, string]>;
    return;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) yield [name, String(value)];
  }
}

function headerLine(name: string, value: string, mode: HeaderEscaping): string {
  if (name.length === 0 || (mode === 'none' && name.includes(':'))) {
    // Names come from our code, never from a client, so this is a bug rather than bad input.
    throw new TypeError(`header name ${JSON.stringify(name)} cannot be written unescaped`);
  }
  return `${encodeHeaderText(name, mode)}:${encodeHeaderText(value, mode)}\n`;
}

function assemble(head: string, body: Uint8Array | undefined): Buffer {
  const headLength = Buffer.byteLength(head, 'utf8');
  const bodyLength = body?.length ?? 0;
  const frame = Buffer.allocUnsafe(headLength + bodyLength + 1);
  frame.write(head, 0, 'utf8');
  if (body !== undefined) frame.set(body, headLength);
  frame[headLength + bodyLength] = 0;
  return frame;
}
