import { CLIENT_COMMANDS, SERVER_COMMANDS, type StompFrame } from '../../../src/stomp/frame.js';
import { createStompParser, type StompParser, type StompParserOptions } from '../../../src/stomp/parser.js';

export const ALL_COMMANDS = [...CLIENT_COMMANDS, ...SERVER_COMMANDS];

export type ParsedEvent = { type: 'frame'; frame: StompFrame } | { type: 'heartbeat' };

export type ParserSettings = Omit<StompParserOptions, 'onFrame' | 'onHeartbeat'>;

export interface ParseOutcome {
  events: ParsedEvent[];
  /** The error the parser threw, if any (pushing stops at the first one). */
  error: unknown;
  parser: StompParser;
}

/** The spec writes the NULL octet as ^@; so do the tests. */
export function wire(text: string): Buffer {
  return Buffer.from(text.replaceAll('^@', '\0'), 'utf8');
}

export function parseChunks(chunks: Iterable<Buffer | Uint8Array | string>, settings: ParserSettings = {}): ParseOutcome {
  const events: ParsedEvent[] = [];
  const parser = createStompParser({
    ...settings,
    onFrame: (frame) => events.push({ type: 'frame', frame }),
    onHeartbeat: () => events.push({ type: 'heartbeat' }),
  });
  let error: unknown;
  try {
    for (const chunk of chunks) parser.push(chunk);
  } catch (caught) {
    error = caught;
  }
  return { events, error, parser };
}

/** Parses input pushed whole and returns its events; any error fails the test. */
export function parseWhole(input: Buffer | string, settings: ParserSettings = {}): ParsedEvent[] {
  const { events, error } = parseChunks([input], settings);
  if (error !== undefined) throw error;
  return events;
}

export function framesOf(events: ParsedEvent[]): StompFrame[] {
  return events.flatMap((event) => (event.type === 'frame' ? [event.frame] : []));
}

/** Every way to cut the bytes in two, then one byte at a time. */
export function* chunkings(bytes: Buffer): Generator<Buffer[]> {
  for (let cut = 0; cut <= bytes.length; cut += 1) yield [bytes.subarray(0, cut), bytes.subarray(cut)];
  yield Array.from({ length: bytes.length }, (_, index) => bytes.subarray(index, index + 1));
}

/** Comparable form: Buffers become hex so failures print readably. */
export function summarize(outcome: Pick<ParseOutcome, 'events' | 'error'>): unknown {
  return {
    events: outcome.events.map((event) =>
      event.type === 'heartbeat'
        ? 'heartbeat'
        : { command: event.frame.command, headers: event.frame.headers, body: event.frame.body.toString('hex') },
    ),
    error: errorCode(outcome.error),
  };
}

export function errorCode(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : String(error);
}
