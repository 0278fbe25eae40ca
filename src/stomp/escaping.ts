/**
 * Header name/value escaping (STOMP 1.2 "Value Encoding"; STOMP 1.1 "Value Encoding").
 *
 * Invariants:
 * - 1.2 defines exactly `\r \n \c \\`; 1.1 defines `\n \c \\` only. Any other escape, including a
 *   trailing lone backslash, is a fatal 'bad-escape' error, as both specs require.
 * - CONNECT, STOMP and CONNECTED frames are never escaped (kept 1.0-compatible by the spec; STOMP is
 *   the same frame as CONNECT), and 1.0 sessions escape nothing.
 * - Decoding works on text already decoded from UTF-8, after the whole line was collected, so an
 *   escape split across chunks is never seen half-way.
 * - Encoding never emits a raw CR or LF inside a header: where the mode has no escape for it, the
 *   octet becomes a space, because a raw EOL would end the header line and let a value inject
 *   headers or end the header block.
 */
import { isUtf8 } from 'node:buffer';
import type { StompVersion } from './version.js';
import { StompProtocolError } from './errors.js';
import type { StompHeader } from './frame.js';

const NUL = 0;
const CR = 13;
const COLON = 58;

export type HeaderEscaping = 'none' | '1.1' | '1.2';

const UNESCAPED_COMMANDS: ReadonlySet<string> = new Set(['CONNECT', 'STOMP', 'CONNECTED']);

/** The escaping a frame's headers use, given the session version and the frame's command. */
export function headerEscaping(version: StompVersion, command: string): HeaderEscaping {
  if (version === '1.0' || UNESCAPED_COMMANDS.has(command)) return 'none';
  return version;
}

const BACKSLASH = 92;

/** Decodes one header name or value. Throws StompProtocolError('bad-escape') on an undefined escape. */
export function decodeHeaderText(raw: string, mode: HeaderEscaping): string {
  if (mode === 'none') return raw;
  let backslash = raw.indexOf('\\');
  if (backslash === -1) return raw;

  let decoded = '';
  let from = 0;
  while (backslash !== -1) {
    decoded += raw.slice(from, backslash);
    const escaped = raw.charCodeAt(backslash + 1);
    if (escaped === 110) decoded += '\n';
    else if (escaped === 99) decoded += ':';
    else if (escaped === BACKSLASH) decoded += '\\';
    else if (escaped === 114 && mode === '1.2') decoded += '\r';
    else throw badEscape(raw, backslash);
    from = backslash + 2;
    backslash = raw.indexOf('\\', from);
  }
  return decoded + raw.slice(from);
}

function badEscape(raw: string, at: number): StompProtocolError {
  const next = raw[at + 1];
  const shown =
    next === undefined
      ? 'a trailing backslash'
      : /^[\x21-\x7e]$/.test(next)
        ? `undefined escape sequence "\\${next}"`
        : 'a backslash before a non-printable character';
  return new StompProtocolError('bad-escape', `header contains ${shown}`);
}

const ESCAPES_12: Readonly<Record<string, string>> = { '\\': '\\\\', '\r': '\\r', '\n': '\\n', ':': '\\c' };
const ESCAPES_11: Readonly<Record<string, string>> = { '\\': '\\\\', '\r': ' ', '\n': '\\n', ':': '\\c' };
const ESCAPES_NONE: Readonly<Record<string, string>> = { '\r': ' ', '\n': ' ' };

const SPECIAL_12 = /[\\\r\n:]/;
const SPECIAL_12_ALL = /[\\\r\n:]/g;
const SPECIAL_NONE = /[\r\n]/;
const SPECIAL_NONE_ALL = /[\r\n]/g;

/** Encodes one header name or value for the given mode (the reverse of decodeHeaderText). */
export function encodeHeaderText(text: string, mode: HeaderEscaping): string {
  if (mode === 'none') {
    return SPECIAL_NONE.test(text) ? text.replace(SPECIAL_NONE_ALL, (c) => ESCAPES_NONE[c] ?? c) : text;
  }
  if (!SPECIAL_12.test(text)) return text;
  const table = mode === '1.2' ? ESCAPES_12 : ESCAPES_11;
  return text.replace(SPECIAL_12_ALL, (c) => table[c] ?? c);
}

/**
 * One whole header line (without its EOL) as a name and a value. The first ':' splits them; the
 * grammar allows no raw CR or NULL in a header (a raw NULL usually means a truncated frame), and
 * the line must be UTF-8 before its escapes are decoded.
 */
export function decodeHeaderLine(line: Buffer, mode: HeaderEscaping): StompHeader {
  const colon = line.indexOf(COLON);
  if (colon === -1) throw new StompProtocolError('malformed-header', 'header line has no colon');
  if (colon === 0) throw new StompProtocolError('malformed-header', 'header line has an empty name');
  if (line.indexOf(CR) !== -1 || line.indexOf(NUL) !== -1) {
    throw new StompProtocolError('malformed-header', 'header line contains a raw CR or NULL octet');
  }
  if (!isUtf8(line)) throw new StompProtocolError('malformed-header', 'header line is not valid UTF-8');
  return [decodeHeaderText(line.toString('utf8', 0, colon), mode), decodeHeaderText(line.toString('utf8', colon + 1), mode)];
}
