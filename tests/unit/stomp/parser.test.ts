import { describe, expect, it } from 'vitest';
import { StompProtocolError } from '../../../src/stomp/errors.js';
import { header, type StompFrame } from '../../../src/stomp/frame.js';
import { DEFAULT_PARSER_LIMITS, createStompParser } from '../../../src/stomp/parser.js';
import {
  ALL_COMMANDS,
  chunkings,
  errorCode,
  framesOf,
  parseChunks,
  parseWhole,
  summarize,
  wire,
  type ParserSettings,
} from './parse-helpers.js';

function onlyFrame(input: Buffer | string, settings: ParserSettings = {}): StompFrame {
  const frames = framesOf(parseWhole(input, settings));
  expect(frames).toHaveLength(1);
  const [frame] = frames;
  if (frame === undefined) throw new Error('no frame');
  return frame;
}

function rejection(chunks: (Buffer | string)[], settings: ParserSettings = {}): StompProtocolError {
  const { error } = parseChunks(chunks, settings);
  expect(error).toBeInstanceOf(StompProtocolError);
  return error as StompProtocolError;
}

/** Asserts the same outcome for every chunking of the input. */
function expectChunkingIndependent(input: Buffer, settings: ParserSettings = {}): void {
  const expected = summarize(parseChunks([input], settings));
  for (const chunks of chunkings(input)) expect(summarize(parseChunks(chunks, settings))).toEqual(expected);
}

describe('frame reassembly', () => {
  it('parses several frames pushed in one chunk, in order', () => {
    const frames = framesOf(
      parseWhole(wire('SEND\ndestination:/a\n\none^@SUBSCRIBE\nid:1\ndestination:/b\n\n^@SEND\ndestination:/c\n\nthree^@')),
    );
    expect(frames.map((frame) => [frame.command, frame.body.toString()])).toEqual([
      ['SEND', 'one'],
      ['SUBSCRIBE', ''],
      ['SEND', 'three'],
    ]);
  });

  it('reports LF and CRLF between frames as heart-beats, in stream order', () => {
    const events = parseWhole(wire('\nSEND\ndestination:/a\n\nx^@\r\n\nACK\nid:1\n\n^@\n'));
    expect(events.map((event) => (event.type === 'frame' ? event.frame.command : event.type))).toEqual([
      'heartbeat',
      'SEND',
      'heartbeat',
      'heartbeat',
      'ACK',
      'heartbeat',
    ]);
  });

  it('reports a CRLF heart-beat split between two chunks once', () => {
    const { events, error } = parseChunks(['\r', '\n']);
    expect(error).toBeUndefined();
    expect(events).toEqual([{ type: 'heartbeat' }]);
  });

  it('accepts CRLF line endings on the command, the headers and the blank line', () => {
    const frame = onlyFrame(wire('SEND\r\ndestination:/a\r\nreceipt:r1\r\n\r\nbody\r\n^@'));
    expect(frame).toEqual({
      command: 'SEND',
      headers: [
        ['destination', '/a'],
        ['receipt', 'r1'],
      ],
      body: Buffer.from('body\r\n'),
    });
  });

  it('reads NULL octets inside a body sized by content-length', () => {
    const body = Buffer.from([1, 0, 2, 0, 0, 3]);
    const input = Buffer.concat([wire('SEND\ndestination:/a\ncontent-length:6\n\n'), body, Buffer.from([0])]);
    expect(onlyFrame(input).body).toEqual(body);
    expectChunkingIndependent(input);
  });

  it('accepts a content-length of zero', () => {
    expect(onlyFrame(wire('SEND\ndestination:/a\ncontent-length:0\n\n^@')).body).toEqual(Buffer.alloc(0));
  });

  it('decodes a header whose multi-byte UTF-8 characters are split across chunks', () => {
    const input = wire('SEND\ndestination:/topic/room.ü€😀\nnote:日本語\n\n^@');
    expect(onlyFrame(input).headers).toEqual([
      ['destination', '/topic/room.ü€😀'],
      ['note', '日本語'],
    ]);
    expectChunkingIndependent(input);
  });

  it('keeps a body whose multi-byte UTF-8 characters are split across chunks byte-exact', () => {
    const text = 'héllo €😀 wörld';
    for (const withLength of [false, true]) {
      const lengthHeader = withLength ? `content-length:${Buffer.byteLength(text)}\n` : '';
      const input = wire(`SEND\ndestination:/a\n${lengthHeader}\n${text}^@`);
      for (const chunks of chunkings(input)) {
        const { events, error } = parseChunks(chunks);
        expect(error).toBeUndefined();
        expect(framesOf(events)[0]?.body.toString('utf8')).toBe(text);
      }
    }
  });

  it('accepts text (string), Buffer and Uint8Array input alike', () => {
    const text = 'SEND\ndestination:/a\n\nhi€\0';
    const bytes = Buffer.from(text);
    const expected = summarize(parseChunks([bytes]));
    expect(summarize(parseChunks([text]))).toEqual(expected);
    expect(summarize(parseChunks([new Uint8Array(bytes)]))).toEqual(expected);
    const mixed = ['SEND\ndestination:/a\n\nh', Buffer.from('i€'), new Uint8Array([0])];
    expect(summarize(parseChunks(mixed))).toEqual(expected);
  });

  it('gives each frame its own body, unaffected by later changes to the pushed chunk', () => {
    const chunk = wire('SEND\ndestination:/a\n\nabc^@');
    const frame = onlyFrame(chunk);
    chunk.fill(0x78);
    expect(frame.body.toString()).toBe('abc');
  });

  it('ends a frame at a NULL where a header line would start (the spec prints DISCONNECT that way)', () => {
    expect(onlyFrame(wire('DISCONNECT\nreceipt:77\n^@'))).toEqual({
      command: 'DISCONNECT',
      headers: [['receipt', '77']],
      body: Buffer.alloc(0),
    });
    expect(rejection([wire('SEND\ndestination:/a\ncontent-length:3\n^@')]).code).toBe('bad-terminator');
  });

  it('holds only the unfinished part of a frame between pushes and nothing once it completes', () => {
    const parser = createStompParser({ onFrame: () => undefined });
    parser.push('SEND\ndestination:/a\n\nhello');
    expect(parser.bufferedBytes).toBe(5);
    parser.push(' world');
    expect(parser.bufferedBytes).toBe(11);
    parser.push('\0SEND\ndesti');
    expect(parser.bufferedBytes).toBe(5);
    parser.push('nation:/b\n\n\0');
    expect(parser.bufferedBytes).toBe(0);
  });
});

describe('headers', () => {
  it('returns the first of repeated headers and keeps every occurrence in order', () => {
    const frame = onlyFrame(wire('SEND\ndestination:/first\ndestination:/second\nx:1\ndestination:/third\n\n^@'));
    expect(header(frame, 'destination')).toBe('/first');
    expect(frame.headers.map(([name]) => name)).toEqual(['destination', 'destination', 'x', 'destination']);
  });

  it('uses the first of repeated content-length headers', () => {
    const frame = onlyFrame(wire('SEND\ndestination:/a\ncontent-length:2\ncontent-length:5\n\nab^@'));
    expect(frame.body.toString()).toBe('ab');
  });

  it('never trims header values: leading and trailing spaces are kept', () => {
    const frame = onlyFrame(wire('SEND\ndestination: /a \n  spaced name  :\t value\t\n\n^@'));
    expect(frame.headers).toEqual([
      ['destination', ' /a '],
      ['  spaced name  ', '\t value\t'],
    ]);
  });

  it('keeps colons after the first one in the value', () => {
    expect(onlyFrame(wire('CONNECT\nhost:ws://example.com:8080/x\n\n^@')).headers).toEqual([['host', 'ws://example.com:8080/x']]);
  });

  it('accepts an empty header value', () => {
    expect(onlyFrame(wire('SEND\ndestination:/a\nempty:\n\n^@')).headers).toContainEqual(['empty', '']);
  });

  it('unescapes every STOMP 1.2 escape in names and values', () => {
    const frame = onlyFrame(wire('SEND\ndestination:/a\nk\\cey\\n:a\\cb\\nc\\rd\\\\e\n\n^@'));
    expect(frame.headers[1]).toEqual(['k:ey\n', 'a:b\nc\rd\\e']);
  });

  it('reads \\\\n as a backslash followed by n, not as a newline', () => {
    expect(onlyFrame(wire('SEND\ndestination:/a\nx:\\\\n\n\n^@')).headers[1]).toEqual(['x', '\\n']);
  });

  it('rejects an undefined escape such as \\t', () => {
    expect(rejection([wire('SEND\ndestination:/a\nx:a\\tb\n\n^@')]).code).toBe('bad-escape');
  });

  it('rejects a trailing lone backslash in a value', () => {
    expect(rejection([wire('SEND\ndestination:/a\nx:ab\\\n\n^@')]).code).toBe('bad-escape');
  });

  it('does not unescape CONNECT and STOMP headers, which the spec leaves raw', () => {
    for (const command of ['CONNECT', 'STOMP']) {
      const frame = onlyFrame(wire(`${command}\npasscode:a\\tb\\c\n\n^@`));
      expect(frame.headers).toEqual([['passcode', 'a\\tb\\c']]);
    }
  });

  it('does not unescape CONNECTED headers when parsing server frames', () => {
    const frame = onlyFrame(wire('CONNECTED\nserver:x\\y\n\n^@'), { commands: ALL_COMMANDS });
    expect(frame.headers).toEqual([['server', 'x\\y']]);
  });

  it('does not unescape anything in a 1.0 session', () => {
    const frame = onlyFrame(wire('SEND\ndestination:/a\\t\\n\n\n^@'), { version: '1.0' });
    expect(frame.headers).toEqual([['destination', '/a\\t\\n']]);
  });

  it('treats \\r as an undefined escape in a 1.1 session', () => {
    const frame = onlyFrame(wire('SEND\ndestination:/a\\c\\n\n\n^@'), { version: '1.1' });
    expect(frame.headers).toEqual([['destination', '/a:\n']]);
    expect(rejection([wire('SEND\ndestination:/a\\r\n\n^@')], { version: '1.1' }).code).toBe('bad-escape');
  });

  it('applies a version set by the frame handler to the next frame of the same chunk', () => {
    const seen: string[] = [];
    const parser = createStompParser({
      onFrame: (frame) => {
        if (frame.command === 'CONNECT') parser.version = '1.0';
        seen.push(header(frame, 'destination') ?? frame.command);
      },
    });
    parser.push(wire('CONNECT\naccept-version:1.0\n\n^@SEND\ndestination:/a\\t\n\n^@'));
    expect(seen).toEqual(['CONNECT', '/a\\t']);
  });

  it('rejects a header line without a colon as malformed-header', () => {
    expect(rejection([wire('SEND\ndestination\n\n^@')]).code).toBe('malformed-header');
  });

  it('rejects a header with an empty name as malformed-header', () => {
    expect(rejection([wire('SEND\n:value\n\n^@')]).code).toBe('malformed-header');
  });

  it('rejects a raw CR inside a header line as malformed-header', () => {
    expect(rejection([wire('SEND\ndestination:/a\rb\n\n^@')]).code).toBe('malformed-header');
  });

  it('rejects a header line that is not valid UTF-8 as malformed-header', () => {
    const input = Buffer.concat([wire('SEND\ndestination:/'), Buffer.from([0xc3, 0x28]), wire('\n\n^@')]);
    expect(rejection([input]).code).toBe('malformed-header');
  });
});

describe('commands', () => {
  it('rejects an unknown command as bad-command', () => {
    expect(rejection([wire('PUBLISH\n\n^@')]).code).toBe('bad-command');
  });

  it('treats commands as case sensitive', () => {
    expect(rejection([wire('send\ndestination:/a\n\n^@')]).code).toBe('bad-command');
  });

  it('rejects server commands from a client by default', () => {
    expect(rejection([wire('MESSAGE\ndestination:/a\n\n^@')]).code).toBe('bad-command');
  });

  it('accepts the command set given as an option', () => {
    expect(onlyFrame(wire('MESSAGE\ndestination:/a\n\n^@'), { commands: ['MESSAGE'] }).command).toBe('MESSAGE');
    expect(rejection([wire('SEND\ndestination:/a\n\n^@')], { commands: ['MESSAGE'] }).code).toBe('bad-command');
  });

  it('rejects a command line longer than any command before its end arrives (e.g. an HTTP request)', () => {
    const parser = createStompParser({ onFrame: () => undefined });
    expect(() => parser.push('GET /ws HTTP/1.1')).toThrow(StompProtocolError);
    expect(parser.failed).toBe(true);
  });

  it('rejects a body on frames that must not have one', () => {
    expect(rejection([wire('SUBSCRIBE\nid:1\ndestination:/a\n\nx^@')]).code).toBe('body-not-allowed');
    expect(rejection([wire('CONNECT\naccept-version:1.2\ncontent-length:1\n\nx^@')]).code).toBe('body-not-allowed');
    expect(rejection([wire('DISCONNECT\n\n\n^@')]).code).toBe('body-not-allowed');
  });

  it('accepts an empty body with content-length:0 on frames that must not have one', () => {
    expect(onlyFrame(wire('UNSUBSCRIBE\nid:1\ncontent-length:0\n\n^@')).command).toBe('UNSUBSCRIBE');
  });
});

describe('content-length', () => {
  const badLengths = ['abc', '-1', '+5', ' 5', '5 ', '1.5', '0x10', '1e3', '', '５'];

  it.each(badLengths)('rejects content-length %j as bad-content-length', (value) => {
    const input = wire(`SEND\ndestination:/a\ncontent-length:${value}\n\nhello^@`);
    expect(rejection([input]).code).toBe('bad-content-length');
  });

  it('rejects a negative content-length', () => {
    expect(rejection([wire('SEND\ndestination:/a\ncontent-length:-5\n\n^@')]).code).toBe('bad-content-length');
  });

  it('rejects a bad terminator after a content-length body', () => {
    expect(rejection([wire('SEND\ndestination:/a\ncontent-length:3\n\nabcd^@')]).code).toBe('bad-terminator');
  });

  it('rejects a content-length above the body limit before any body byte arrives', () => {
    const parser = createStompParser({ onFrame: () => undefined, maxBodyBytes: 1000 });
    expect(() => parser.push('SEND\ndestination:/a\ncontent-length:1001\n\n')).toThrow(expect.objectContaining({ code: 'body-too-large' }));
  });

  it('rejects a huge content-length as too large rather than overflowing', () => {
    for (const value of ['99999999999999999999', '9'.repeat(400)]) {
      expect(rejection([wire(`SEND\ndestination:/a\ncontent-length:${value}\n\n`)]).code).toBe('body-too-large');
    }
  });

  it('rejects a content-length that fits the body limit but not the frame limit', () => {
    const error = rejection([wire('SEND\ndestination:/a\ncontent-length:90\n\n')], { maxFrameBytes: 100 });
    expect(error.code).toBe('frame-too-large');
  });
});

describe('limits', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_PARSER_LIMITS).toEqual({
      maxFrameBytes: 65536,
      maxHeaders: 32,
      maxHeaderLineBytes: 8192,
      maxBodyBytes: 65536,
    });
  });

  it('accepts a frame of exactly maxFrameBytes and rejects one byte more', () => {
    const head = 'SEND\ndestination:/a\n\n';
    const fits = wire(`${head}${'x'.repeat(100 - head.length - 1)}^@`);
    expect(fits).toHaveLength(100);
    expect(onlyFrame(fits, { maxFrameBytes: 100 }).body).toHaveLength(100 - head.length - 1);
    const over = wire(`${head}${'x'.repeat(100 - head.length)}^@`);
    expect(rejection([over], { maxFrameBytes: 100, maxBodyBytes: 100 }).code).toBe('frame-too-large');
  });

  it('counts header bytes towards the frame limit', () => {
    const input = wire(`SEND\ndestination:/a\n${'h: 1234567890\n'.repeat(10)}\n^@`);
    expect(rejection([input], { maxFrameBytes: 100 }).code).toBe('frame-too-large');
  });

  it('accepts maxHeaders headers and rejects one more at the first byte of the extra line', () => {
    const headers = Array.from({ length: 4 }, (_, index) => `h${index}:v\n`).join('');
    expect(onlyFrame(wire(`SEND\n${headers}\n^@`), { maxHeaders: 4 }).headers).toHaveLength(4);
    const parser = createStompParser({ onFrame: () => undefined, maxHeaders: 4 });
    parser.push(`SEND\n${headers}`);
    expect(() => parser.push('h')).toThrow(expect.objectContaining({ code: 'too-many-headers' }));
  });

  it('accepts a header line of exactly maxHeaderLineBytes (plus CRLF) and rejects a longer one', () => {
    const line = `x:${'v'.repeat(62)}`;
    expect(onlyFrame(wire(`SEND\n${line}\r\n\r\n^@`), { maxHeaderLineBytes: 64 }).headers).toHaveLength(1);
    expect(rejection([wire(`SEND\n${line}v\n\n^@`)], { maxHeaderLineBytes: 64 }).code).toBe('header-line-too-long');
  });

  it('rejects an over-long header line before its end arrives, however it is chunked', () => {
    const parser = createStompParser({ onFrame: () => undefined, maxHeaderLineBytes: 64 });
    parser.push('SEND\nx:');
    for (let index = 0; index < 62; index += 1) parser.push('v');
    parser.push('\r'); // still legal: a CR may end the longest line
    expect(() => parser.push('v')).toThrow(expect.objectContaining({ code: 'header-line-too-long' }));
  });

  it('rejects a body over maxBodyBytes without content-length as soon as it passes the limit', () => {
    const parser = createStompParser({ onFrame: () => undefined, maxBodyBytes: 1000 });
    parser.push('SEND\ndestination:/a\n\n');
    parser.push('x'.repeat(1000));
    expect(parser.bufferedBytes).toBe(1000);
    expect(() => parser.push('x')).toThrow(expect.objectContaining({ code: 'body-too-large' }));
    expect(parser.bufferedBytes).toBe(0);
  });

  it('accepts a body of exactly maxBodyBytes, with and without content-length', () => {
    const body = 'x'.repeat(1000);
    expect(onlyFrame(wire(`SEND\ndestination:/a\n\n${body}^@`), { maxBodyBytes: 1000 }).body).toHaveLength(1000);
    expect(onlyFrame(wire(`SEND\ndestination:/a\ncontent-length:1000\n\n${body}^@`), { maxBodyBytes: 1000 }).body).toHaveLength(1000);
  });

  it('rejects a streamed 10 MB body while holding no more than the frame limit', () => {
    const parser = createStompParser({ onFrame: () => undefined });
    parser.push('SEND\ndestination:/a\n\n');
    const piece = Buffer.alloc(16 * 1024, 0x61);
    let pushed = 0;
    let caught: unknown;
    try {
      for (; pushed < 640; pushed += 1) {
        parser.push(piece);
        expect(parser.bufferedBytes).toBeLessThanOrEqual(DEFAULT_PARSER_LIMITS.maxFrameBytes);
      }
    } catch (error) {
      caught = error;
    }
    expect(errorCode(caught)).toBe('frame-too-large');
    expect(pushed).toBeLessThanOrEqual(4);
  });

  it('rejects invalid limit options with a readable RangeError', () => {
    expect(() => createStompParser({ onFrame: () => undefined, maxFrameBytes: 0 })).toThrow(/maxFrameBytes/);
    expect(() => createStompParser({ onFrame: () => undefined, maxHeaders: 1.5 })).toThrow(RangeError);
    expect(() => createStompParser({ onFrame: () => undefined, maxFrameBytes: 10, maxBodyBytes: 20 })).toThrow(/maxBodyBytes/);
  });
});

describe('after an error', () => {
  it('stays dead: every later push rethrows the first error', () => {
    const parser = createStompParser({ onFrame: () => undefined });
    let first: unknown;
    try {
      parser.push('BOGUS\n');
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(StompProtocolError);
    expect(() => parser.push(wire('SEND\ndestination:/a\n\n^@'))).toThrow(first as Error);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('propagates a handler error unchanged and then stays dead', () => {
    const boom = new Error('handler failed');
    const parser = createStompParser({
      onFrame: () => {
        throw boom;
      },
    });
    expect(() => parser.push(wire('SEND\ndestination:/a\n\n^@'))).toThrow(boom);
    expect(() => parser.push('\n')).toThrow(boom);
  });

  it('delivers the frames that completed before the error in the same chunk', () => {
    const { events, error } = parseChunks([wire('SEND\ndestination:/a\n\nok^@BOGUS\n')]);
    expect(framesOf(events).map((frame) => frame.body.toString())).toEqual(['ok']);
    expect(errorCode(error)).toBe('bad-command');
  });
});

describe('handlers', () => {
  it('refuses a push from inside a handler instead of corrupting the frame in progress', () => {
    const parser = createStompParser({
      onFrame: () => parser.push(wire('SEND\ndestination:/b\n\n^@')),
    });
    expect(() => parser.push(wire('SEND\ndestination:/a\n\n^@'))).toThrow(/must not be called from its own handlers/);
    expect(parser.failed).toBe(true);
  });
});

describe('inFrame', () => {
  it('should be in a frame from its first byte to its NULL', () => {
    const parser = createStompParser({ onFrame: () => {} });
    expect(parser.inFrame).toBe(false);
    parser.push('S');
    expect(parser.inFrame).toBe(true);
    parser.push('END\ndestination:/a\n\nbody');
    expect(parser.inFrame).toBe(true);
    parser.push('\0');
    expect(parser.inFrame).toBe(false);
  });

  it('should not take the CR of a heart-beat EOL whose LF comes in the next chunk for a frame', () => {
    let heartbeats = 0;
    const parser = createStompParser({ onFrame: () => {}, onHeartbeat: () => (heartbeats += 1) });
    parser.push('\r');
    expect(parser.inFrame).toBe(false);
    parser.push('\n');
    expect(heartbeats).toBe(1);
    expect(parser.inFrame).toBe(false);
  });

  it('should still refuse a CR followed by anything but LF between frames', () => {
    const parser = createStompParser({ onFrame: () => {} });
    parser.push('\r');
    expect(() => parser.push('SEND\n')).toThrow(StompProtocolError);
  });
});
