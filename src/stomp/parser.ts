/**
 * Incremental STOMP frame parser: bytes in, frames and heart-beats out (STOMP 1.2 "STOMP Frames",
 * "Value Encoding", "Body", "Header content-length", "Size Limits", "Heart-beating", "Augmented
 * BNF"; 1.0 and 1.1 frames differ only in header escaping).
 *
 * Invariants:
 * - Chunking never changes the outcome: the same bytes split anywhere (inside a line, a UTF-8
 *   sequence, an escape, a body) or many frames per chunk give the same frames, heart-beats and
 *   error code as the stream pushed whole. Every check below is therefore tied to a byte position,
 *   not to where a chunk happens to end.
 * - Lines are collected whole before they are decoded (UTF-8, then escapes); a body is opaque bytes.
 * - The parser retains at most one frame's worth of bytes: a partial line (at most
 *   maxHeaderLineBytes + 1) or a partial body (at most maxBodyBytes), never more than maxFrameBytes.
 *   A chunk is only scanned, never kept; the bytes that must wait for the next chunk are copied.
 * - A limit is enforced at the first byte that breaks it; a content-length is checked before any
 *   body byte is read.
 * - The first error kills the parser and every later push rethrows it: the stream position is lost,
 *   and the session must send ERROR and close. Handler errors also kill it and are rethrown as they
 *   are, never swallowed.
 * - Handlers run synchronously once the parser is ready for the next frame, so a handler may set
 *   `version` (after CONNECT) and the change applies to the next frame in the same chunk.
 *
 * Lenient only where the spec's own text is: a NULL where a header line would start ends a frame
 * without a body (the spec's DISCONNECT and RECEIPT examples omit the blank line), and ':' after the
 * first one belongs to the value (unescaped CONNECT and 1.0 frames carry URLs, tokens and so on).
 */
import { StompProtocolError, preview, type StompErrorCode } from './errors.js';
import { decodeHeaderLine, headerEscaping, type HeaderEscaping } from './escaping.js';
import { CLIENT_COMMANDS, commandAllowsBody, type StompFrame, type StompHeader } from './frame.js';
import {
  bodyNotAllowed,
  frameTooLarge,
  lineTooLong,
  parseContentLength,
  resolveLimits,
  toBuffer,
  tooManyHeaders,
  type StompParserLimits,
} from './parser-support.js';
import type { StompVersion } from './version.js';

export { DEFAULT_PARSER_LIMITS, type StompParserLimits } from './parser-support.js';

export interface StompParserOptions extends Partial<StompParserLimits> {
  onFrame: (frame: StompFrame) => void;
  /** A bare EOL between frames. */
  onHeartbeat?: () => void;
  /** Commands accepted on this stream; anything else is 'bad-command'. Defaults to client commands. */
  commands?: Iterable<string>;
  /** Session version, which decides header escaping; settable later through `parser.version`. */
  version?: StompVersion;
}

const NUL = 0;
const LF = 10;
const CR = 13;
const EMPTY = Buffer.alloc(0);

const READ_COMMAND = 0;
const READ_HEADERS = 1;
const READ_BODY_BY_LENGTH = 2;
const READ_BODY_TO_NULL = 3;
const READ_TERMINATOR = 4;
type ParserState =
  typeof READ_COMMAND | typeof READ_HEADERS | typeof READ_BODY_BY_LENGTH | typeof READ_BODY_TO_NULL | typeof READ_TERMINATOR;

export class StompParser {
  /** Decides header escaping for frames read from now on (CONNECT frames are never escaped). */
  version: StompVersion;

  private readonly onFrame: (frame: StompFrame) => void;
  private readonly onHeartbeat: (() => void) | undefined;
  private readonly commands: ReadonlySet<string>;
  private readonly maxCommandBytes: number;
  private readonly maxFrameBytes: number;
  private readonly maxHeaders: number;
  private readonly maxHeaderLineBytes: number;
  private readonly maxBodyBytes: number;

  private state: ParserState = READ_COMMAND;
  private failure: { error: unknown } | undefined;
  private pushing = false;

  // The chunk being scanned; released when push() returns.
  private chunk: Buffer = EMPTY;
  private offset = 0;

  // A line that spans chunks: copies of its bytes so far.
  private lineParts: Buffer[] = [];
  private lineBytes = 0;

  // The frame being read.
  private command = '';
  private escaping: HeaderEscaping = 'none';
  private headers: StompHeader[] = [];
  private frameBytes = 0;
  private contentLength = 0;
  private bodyBytes = 0;
  private bodyParts: Buffer[] = [];
  private bodyBuffer: Buffer | undefined;
  private body: Buffer = EMPTY;

  constructor(options: StompParserOptions) {
    const limits = resolveLimits(options);
    this.maxFrameBytes = limits.maxFrameBytes;
    this.maxHeaders = limits.maxHeaders;
    this.maxHeaderLineBytes = limits.maxHeaderLineBytes;
    this.maxBodyBytes = limits.maxBodyBytes;
    this.onFrame = options.onFrame;
    this.onHeartbeat = options.onHeartbeat;
    this.version = options.version ?? '1.2';
    this.commands = new Set(options.commands ?? CLIENT_COMMANDS);
    if (this.commands.size === 0) throw new RangeError('commands must list at least one command');
    this.maxCommandBytes = Math.max(...[...this.commands].map((command) => Buffer.byteLength(command)));
  }

  /** Bytes held between pushes; never more than maxFrameBytes. */
  get bufferedBytes(): number {
    const bodyHeld = this.bodyBuffer?.length ?? (this.state === READ_BODY_TO_NULL ? this.bodyBytes : 0);
    return this.lineBytes + bodyHeld + this.body.length;
  }

  /**
   * A frame's first byte has arrived and its NULL has not: the peer owes the rest of it. A lone CR
   * between frames is not a frame's start but half a heart-beat EOL whose LF is on its way (a
   * client may send `\r` and `\n` in two WebSocket messages).
   */
  get inFrame(): boolean {
    if (this.state === READ_COMMAND && this.lineBytes === 1 && this.lineParts[0]?.[0] === CR) return false;
    return this.frameBytes > 0;
  }

  /** True once an error has killed the parser. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  push(input: Buffer | Uint8Array | string): void {
    if (this.failure) throw this.failure.error;
    // The scan position lives on the parser, so a handler pushing into it would corrupt the frame.
    if (this.pushing) throw new Error('StompParser.push() must not be called from its own handlers');
    const chunk = toBuffer(input);
    this.chunk = chunk;
    this.offset = 0;
    this.pushing = true;
    try {
      while (this.offset < chunk.length) {
        switch (this.state) {
          case READ_COMMAND:
            this.readCommand();
            break;
          case READ_HEADERS:
            this.readHeader();
            break;
          case READ_BODY_BY_LENGTH:
            this.readBodyByLength();
            break;
          case READ_BODY_TO_NULL:
            this.readBodyToNull();
            break;
          case READ_TERMINATOR:
            this.readTerminator();
            break;
        }
      }
    } catch (error) {
      this.failure = { error };
      this.resetFrame();
      this.lineParts = [];
      this.lineBytes = 0;
      throw error;
    } finally {
      this.chunk = EMPTY;
      this.pushing = false;
    }
  }

  private readCommand(): void {
    const line = this.readLine(this.maxCommandBytes, 'bad-command');
    if (line === undefined) return;
    if (line.length === 0) {
      // An EOL outside a frame: a heart-beat, or the optional EOLs after a NULL. Not part of a frame.
      this.frameBytes = 0;
      this.onHeartbeat?.();
      return;
    }
    const command = line.toString('utf8');
    if (!this.commands.has(command)) {
      throw new StompProtocolError('bad-command', `unknown command ${preview(command)}`);
    }
    this.command = command;
    this.escaping = headerEscaping(this.version, command);
    this.state = READ_HEADERS;
  }

  private readHeader(): void {
    if (this.lineBytes === 0) {
      const first = this.chunk[this.offset];
      if (first === NUL) {
        this.endFrameWithoutBlankLine();
        return;
      }
      // Refuse the extra header at its first byte rather than after buffering its line.
      if (first !== LF && first !== CR && this.headers.length >= this.maxHeaders) throw tooManyHeaders(this.maxHeaders);
    }
    const line = this.readLine(this.maxHeaderLineBytes, 'header-line-too-long');
    if (line === undefined) return;
    if (line.length === 0) {
      this.startBody();
      return;
    }
    if (this.headers.length >= this.maxHeaders) throw tooManyHeaders(this.maxHeaders);
    this.headers.push(decodeHeaderLine(line, this.escaping));
  }

  private startBody(): void {
    const declared = this.firstHeader('content-length');
    if (declared === undefined) {
      this.state = READ_BODY_TO_NULL;
      return;
    }
    const length = parseContentLength(declared);
    if (length > this.maxBodyBytes) {
      throw new StompProtocolError(
        'body-too-large',
        `content-length ${preview(declared)} exceeds the ${this.maxBodyBytes}-byte body limit`,
      );
    }
    if (this.frameBytes + length + 1 > this.maxFrameBytes) {
      throw new StompProtocolError(
        'frame-too-large',
        `content-length ${length} makes the frame exceed the ${this.maxFrameBytes}-byte frame limit`,
      );
    }
    if (length > 0 && !commandAllowsBody(this.command)) throw bodyNotAllowed(this.command);
    this.contentLength = length;
    this.state = length === 0 ? READ_TERMINATOR : READ_BODY_BY_LENGTH;
  }

  private endFrameWithoutBlankLine(): void {
    const declared = this.firstHeader('content-length');
    if (declared !== undefined && parseContentLength(declared) > 0) {
      throw new StompProtocolError('bad-terminator', 'frame ended before the body its content-length declares');
    }
    this.consumeTerminator();
    this.emitFrame(EMPTY);
  }

  private readBodyByLength(): void {
    const { chunk, offset } = this;
    const missing = this.contentLength - this.bodyBytes;
    const taken = Math.min(missing, chunk.length - offset);
    if (taken === missing && this.bodyBuffer === undefined) {
      // The common case: the whole body is in this chunk, so it is copied out once.
      this.body = Buffer.from(chunk.subarray(offset, offset + taken));
    } else {
      // content-length has passed the limits already, so this allocation is bounded.
      this.bodyBuffer ??= Buffer.allocUnsafe(this.contentLength);
      chunk.copy(this.bodyBuffer, this.bodyBytes, offset, offset + taken);
    }
    this.bodyBytes += taken;
    this.offset += taken;
    this.frameBytes += taken;
    if (this.bodyBytes < this.contentLength) return;
    if (this.bodyBuffer !== undefined) {
      this.body = this.bodyBuffer;
      this.bodyBuffer = undefined;
    }
    this.state = READ_TERMINATOR;
  }

  private readTerminator(): void {
    if (this.chunk[this.offset] !== NUL) {
      throw new StompProtocolError(
        'bad-terminator',
        `expected a NULL octet after the ${this.contentLength}-octet body declared by content-length`,
      );
    }
    this.consumeTerminator();
    this.emitFrame(this.body);
  }

  private readBodyToNull(): void {
    const { chunk, offset } = this;
    if (this.bodyBytes === 0 && chunk[offset] !== NUL && !commandAllowsBody(this.command)) {
      throw bodyNotAllowed(this.command);
    }
    const bodyRoom = this.maxBodyBytes - this.bodyBytes;
    const frameRoom = this.maxFrameBytes - this.frameBytes - 1;
    const room = Math.min(bodyRoom, frameRoom);
    const nul = chunk.indexOf(NUL, offset);
    if (nul !== -1 && nul - offset <= room) {
      const tail = chunk.subarray(offset, nul);
      const body = this.bodyParts.length === 0 ? Buffer.from(tail) : Buffer.concat([...this.bodyParts, tail], this.bodyBytes + tail.length);
      this.frameBytes += tail.length;
      this.offset = nul;
      this.consumeTerminator();
      this.emitFrame(body);
      return;
    }
    if (chunk.length - offset > room) {
      // The byte at offset + room is not the NULL, so one limit breaks there; the difference between
      // the two rooms is fixed within a body, so the same code wins however the body was chunked.
      if (bodyRoom <= frameRoom) {
        throw new StompProtocolError('body-too-large', `frame body exceeds the ${this.maxBodyBytes}-byte body limit`);
      }
      throw frameTooLarge(this.maxFrameBytes);
    }
    this.bodyParts.push(Buffer.from(chunk.subarray(offset)));
    this.bodyBytes += chunk.length - offset;
    this.frameBytes += chunk.length - offset;
    this.offset = chunk.length;
  }

  /**
   * Reads up to and including the next LF. Returns the line without its EOL, or undefined when the
   * chunk ended first (its bytes are then kept for the next push).
   *
   * A line may use at most `maxBytes` octets plus CR LF, and must leave room in the frame for at
   * least the NULL; the LF is searched for only within the smaller of those two rooms, so an endless
   * line fails at the same byte whatever the chunking, with the code of the room that ran out.
   */
  private readLine(maxBytes: number, tooLongCode: StompErrorCode): Buffer | undefined {
    const { chunk, offset } = this;
    const lineRoom = maxBytes + 2 - this.lineBytes;
    const frameRoom = this.maxFrameBytes - this.frameBytes - 1;
    const room = Math.min(lineRoom, frameRoom);
    const lf = chunk.indexOf(LF, offset);

    if (lf === -1 || lf - offset >= room) {
      if (chunk.length - offset >= room) {
        throw lineRoom <= frameRoom ? lineTooLong(tooLongCode, maxBytes) : frameTooLarge(this.maxFrameBytes);
      }
      const rest = chunk.length - offset;
      this.lineParts.push(Buffer.from(chunk.subarray(offset)));
      this.lineBytes += rest;
      this.frameBytes += rest;
      this.offset = chunk.length;
      // Only a CR may still follow the last allowed octet.
      if (this.lineBytes > maxBytes && chunk[chunk.length - 1] !== CR) throw lineTooLong(tooLongCode, maxBytes);
      return undefined;
    }

    const tail = chunk.subarray(offset, lf);
    let line = tail;
    if (this.lineBytes > 0) {
      this.lineParts.push(tail);
      line = Buffer.concat(this.lineParts, this.lineBytes + tail.length);
      this.lineParts = [];
      this.lineBytes = 0;
    }
    this.frameBytes += lf + 1 - offset;
    this.offset = lf + 1;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (line.length > maxBytes) throw lineTooLong(tooLongCode, maxBytes);
    return line;
  }

  private consumeTerminator(): void {
    this.offset += 1;
    this.frameBytes += 1;
    if (this.frameBytes > this.maxFrameBytes) throw frameTooLarge(this.maxFrameBytes);
  }

  private emitFrame(body: Buffer): void {
    const frame: StompFrame = { command: this.command, headers: this.headers, body };
    this.resetFrame();
    this.onFrame(frame);
  }

  private resetFrame(): void {
    this.state = READ_COMMAND;
    this.command = '';
    this.headers = [];
    this.frameBytes = 0;
    this.contentLength = 0;
    this.bodyBytes = 0;
    this.bodyParts = [];
    this.bodyBuffer = undefined;
    this.body = EMPTY;
  }

  private firstHeader(name: string): string | undefined {
    for (const [headerName, value] of this.headers) {
      if (headerName === name) return value;
    }
    return undefined;
  }
}

export function createStompParser(options: StompParserOptions): StompParser {
  return new StompParser(options);
}
