import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { StompProtocolError, stompErrorCatalogue } from '../../../src/stomp/errors.js';
import { CLIENT_COMMANDS, commandAllowsBody } from '../../../src/stomp/frame.js';
import { DEFAULT_PARSER_LIMITS, type StompParserLimits } from '../../../src/stomp/parser.js';
import { serializeFrame } from '../../../src/stomp/serializer.js';
import type { StompVersion } from '../../../src/stomp/version.js';
import { ALL_COMMANDS, parseChunks, summarize, type ParserSettings } from './parse-helpers.js';

// Seeded so that a failure names a case that can be replayed: STOMP_FUZZ_SEED=<seed> npx vitest run …
const SEED = Number(process.env.STOMP_FUZZ_SEED ?? 0x5eed5702);
const CASES = 20_000;

/** mulberry32: tiny, fast, good enough to drive a fuzzer. */
function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number): number => Math.floor(next() * below);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick, chance: (probability: number) => next() < probability };
}
type Random = ReturnType<typeof createRandom>;

const TEXT_PIECES = ['a', 'Z', '0', '-', '/', ' ', ':', '\\', '\n', '\r', 'é', '€', '😀', 'room.1', 'x-y', '\t'];

function randomText(random: Random, maxPieces: number): string {
  let text = '';
  for (let count = random.int(maxPieces + 1); count > 0; count -= 1) text += random.pick(TEXT_PIECES);
  return text;
}

function randomBytes(random: Random, length: number, allowNull: boolean): Buffer {
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index += 1) {
    let byte = random.int(256);
    if (!allowNull && byte === 0) byte = 1;
    bytes[index] = byte;
  }
  return bytes;
}

/** A valid frame of the kind a client sends, for the given session version. */
function validFrame(random: Random, version: StompVersion): Buffer {
  const command = random.pick(CLIENT_COMMANDS);
  const escape = version === '1.0' || command === 'CONNECT' || command === 'STOMP' ? 'none' : version;
  const headers: [string, string][] = [];
  for (let count = random.int(6); count > 0; count -= 1) {
    const name = `h${randomText(random, 3).replace(escape === 'none' ? /[:\r\n]/g : /\r/g, '')}`;
    headers.push([name, randomText(random, 6).replace(escape === '1.2' ? /^$/ : /\r/g, '')]);
  }
  if (!commandAllowsBody(command) || random.chance(0.3)) {
    return serializeFrame(command, headers, undefined, { escape });
  }
  const withLength = random.chance(0.6);
  const body = randomBytes(random, random.int(random.chance(0.1) ? 3000 : 200), withLength);
  let frame = serializeFrame(command, headers, body, { escape, contentLength: withLength });
  if (random.chance(0.2)) {
    // CRLF line endings in the head (the body stays as it is).
    const headEnd = frame.indexOf('\n\n') + 2;
    const head = frame.subarray(0, headEnd).toString('latin1').replaceAll('\n', '\r\n');
    frame = Buffer.concat([Buffer.from(head, 'latin1'), frame.subarray(headEnd)]);
  }
  return frame;
}

function validStream(random: Random, version: StompVersion): { bytes: Buffer; frames: number } {
  const parts: Buffer[] = [];
  const frames = 1 + random.int(3);
  for (let index = 0; index < frames; index += 1) {
    if (random.chance(0.3)) parts.push(Buffer.from(random.chance(0.5) ? '\n' : '\r\n'));
    parts.push(validFrame(random, version));
  }
  return { bytes: Buffer.concat(parts), frames };
}

const SPECIAL_BYTES = [0, 10, 13, 58, 92];
const HUGE_LENGTHS = ['99999999999999999999', '-1', '', '1e3', ' 12', '4294967296', '65537', '0', '7', '-0'];

function mutate(random: Random, input: Buffer): Buffer {
  let bytes: Buffer = Buffer.from(input);
  const at = () => random.int(bytes.length + 1);
  switch (random.int(8)) {
    case 0: {
      if (bytes.length === 0) break;
      const index = random.int(bytes.length);
      bytes[index] = (bytes[index] ?? 0) ^ (1 << random.int(8));
      break;
    }
    case 1:
      bytes = bytes.subarray(0, at());
      break;
    case 2: {
      const index = at();
      const special = Buffer.from([random.pick(SPECIAL_BYTES)]);
      bytes = Buffer.concat([bytes.subarray(0, index), special, bytes.subarray(index)]);
      break;
    }
    case 3: {
      const start = at();
      bytes = Buffer.concat([bytes.subarray(0, start), bytes.subarray(start + random.int(20))]);
      break;
    }
    case 4: {
      const start = at();
      const slice = bytes.subarray(start, start + random.int(64));
      const index = at();
      bytes = Buffer.concat([bytes.subarray(0, index), slice, bytes.subarray(index)]);
      break;
    }
    case 5: {
      const text = bytes.toString('latin1');
      const replaced = /content-length:[^\r\n]*/.test(text)
        ? text.replace(/content-length:[^\r\n]*/, `content-length:${random.pick(HUGE_LENGTHS)}`)
        : text.replace('\n', `\ncontent-length:${random.pick(HUGE_LENGTHS)}\n`);
      bytes = Buffer.from(replaced, 'latin1');
      break;
    }
    case 6: {
      const index = at();
      const run = Buffer.alloc(random.int(random.chance(0.2) ? 20_000 : 600), random.pick([0x78, 0x3a, 0x0a, 0x5c]));
      bytes = Buffer.concat([bytes.subarray(0, index), run, bytes.subarray(index)]);
      break;
    }
    default:
      bytes = randomBytes(random, random.int(100), true);
  }
  return bytes;
}

function randomChunks(random: Random, bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const size = random.chance(0.3) ? 1 + random.int(4) : 1 + random.int(512);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

function randomSettings(random: Random): { settings: ParserSettings; limits: StompParserLimits; defaults: boolean } {
  const version = random.pick(['1.0', '1.1', '1.2'] as const);
  const commands = random.chance(0.8) ? CLIENT_COMMANDS : ALL_COMMANDS;
  if (random.chance(0.5)) {
    return { settings: { version, commands }, limits: { ...DEFAULT_PARSER_LIMITS }, defaults: true };
  }
  const maxFrameBytes = 16 + random.int(3000);
  const limits = {
    maxFrameBytes,
    maxHeaders: random.int(8),
    maxHeaderLineBytes: 1 + random.int(200),
    maxBodyBytes: 1 + random.int(maxFrameBytes),
  };
  return { settings: { version, commands, ...limits }, limits, defaults: false };
}

function fail(caseIndex: number, message: string): never {
  throw new Error(`fuzz case ${caseIndex} (seed ${SEED}): ${message}`);
}

describe('parser fuzzing', () => {
  it(`survives ${CASES} random and mutated frame streams with only StompProtocolErrors`, { timeout: 20_000 }, () => {
    const random = createRandom(SEED);
    const codesSeen = new Set<string>();
    let framesParsed = 0;

    for (let caseIndex = 0; caseIndex < CASES; caseIndex += 1) {
      const { settings, limits, defaults } = randomSettings(random);
      const stream = validStream(random, settings.version ?? '1.2');
      let bytes = stream.bytes;
      const mutations = random.chance(0.15) ? 0 : 1 + random.int(4);
      for (let count = 0; count < mutations; count += 1) bytes = mutate(random, bytes);

      const whole = parseChunks([bytes], settings);
      if (whole.error !== undefined && !(whole.error instanceof StompProtocolError)) {
        fail(caseIndex, `threw a non-protocol error: ${String(whole.error)}`);
      }
      if (whole.parser.bufferedBytes > limits.maxFrameBytes) fail(caseIndex, 'retained more than maxFrameBytes');
      const wholeFrames = whole.events.filter((event) => event.type === 'frame').length;
      if (mutations === 0 && defaults && (whole.error !== undefined || wholeFrames !== stream.frames)) {
        fail(caseIndex, `a valid stream did not parse: ${String(whole.error)}`);
      }

      // Random chunking must not change anything, and must never retain more than one frame.
      const chunks = randomChunks(random, bytes);
      const chunked = parseChunks([], settings);
      const { parser } = chunked;
      for (const chunk of chunks) {
        try {
          parser.push(chunk);
        } catch (error) {
          if (!(error instanceof StompProtocolError)) fail(caseIndex, `threw a non-protocol error: ${String(error)}`);
          chunked.error = error;
          break;
        }
        if (parser.bufferedBytes > limits.maxFrameBytes) {
          fail(caseIndex, `retained ${parser.bufferedBytes} bytes, over maxFrameBytes ${limits.maxFrameBytes}`);
        }
      }
      if (JSON.stringify(summarize(chunked)) !== JSON.stringify(summarize(whole))) {
        const [expected, actual] = [whole, chunked].map((outcome) => JSON.stringify(summarize(outcome)));
        fail(caseIndex, `chunking changed the outcome: ${expected} vs ${actual}`);
      }
      if (chunked.error !== undefined) {
        let again: unknown;
        try {
          parser.push('\n');
        } catch (error) {
          again = error;
        }
        if (again !== chunked.error) fail(caseIndex, 'a dead parser accepted more input');
      }

      // Text input decodes to the same bytes, so it must parse the same.
      if (random.chance(0.1) && isUtf8(bytes)) {
        const asText = parseChunks([bytes.toString('utf8')], settings);
        if (JSON.stringify(summarize(asText)) !== JSON.stringify(summarize(whole))) {
          fail(caseIndex, 'text input differed');
        }
      }

      if (whole.error instanceof StompProtocolError) codesSeen.add(whole.error.code);
      framesParsed += wholeFrames;
    }

    // The fuzzer is only worth something if it reaches the error paths and still parses frames.
    const notParserCodes = ['bad-heart-beat', 'unsupported-version'];
    const reachable = Object.keys(stompErrorCatalogue).filter((code) => !notParserCodes.includes(code));
    expect([...codesSeen].sort()).toEqual(reachable.sort());
    expect(framesParsed).toBeGreaterThan(CASES / 4);
  });
});
