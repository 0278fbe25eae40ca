import { describe, expect, it } from 'vitest';
import { header } from '../../../src/stomp/frame.js';
import { serializeFrame, serializeMessage } from '../../../src/stomp/serializer.js';
import { ALL_COMMANDS, framesOf, parseChunks, parseWhole } from './parse-helpers.js';

const text = (bytes: Buffer) => bytes.toString('utf8').replaceAll('\0', '^@');

describe('serializeFrame', () => {
  it('writes command, headers, blank line and NULL for a frame without a body', () => {
    expect(text(serializeFrame('RECEIPT', [['receipt-id', '77']]))).toBe('RECEIPT\nreceipt-id:77\n\n^@');
  });

  it('adds content-length for a body and keeps headers in the given order', () => {
    const frame = serializeFrame(
      'ERROR',
      [
        ['message', 'bad'],
        ['content-type', 'text/plain'],
      ],
      'détail',
    );
    expect(text(frame)).toBe('ERROR\nmessage:bad\ncontent-type:text/plain\ncontent-length:7\n\ndétail^@');
  });

  it('replaces a caller-supplied content-length with the real octet count', () => {
    const frame = serializeFrame('ERROR', [['content-length', '999']], 'abc');
    expect(text(frame)).toBe('ERROR\ncontent-length:3\n\nabc^@');
  });

  it('adds content-length:0 for an empty body and none when there is no body', () => {
    expect(text(serializeFrame('ERROR', [], ''))).toBe('ERROR\ncontent-length:0\n\n^@');
    expect(text(serializeFrame('ERROR', []))).toBe('ERROR\n\n^@');
  });

  it('omits content-length when asked not to add it', () => {
    expect(text(serializeFrame('ERROR', [], 'x', { contentLength: false }))).toBe('ERROR\n\nx^@');
  });

  it('accepts headers as a record, skipping undefined values', () => {
    const frame = serializeFrame('CONNECTED', { version: '1.2', 'heart-beat': '0,0', session: undefined, n: 3 });
    expect(text(frame)).toBe('CONNECTED\nversion:1.2\nheart-beat:0,0\nn:3\n\n^@');
  });

  it('escapes header names and values of non-CONNECTED frames by the 1.2 rules', () => {
    const frame = serializeFrame('MESSAGE', [['a:b', 'x\ny\r\\z:']]);
    expect(text(frame)).toBe('MESSAGE\na\\cb:x\\ny\\r\\\\z\\c\n\n^@');
  });

  it('does not escape CONNECTED headers but never lets an EOL into them', () => {
    const frame = serializeFrame('CONNECTED', [
      ['user-name', 'eve\nversion:9.9'],
      ['server', 'chat/1.0 a:b\\c'],
    ]);
    expect(text(frame)).toBe('CONNECTED\nuser-name:eve version:9.9\nserver:chat/1.0 a:b\\c\n\n^@');
  });

  it('writes an ERROR message header for a 1.0 session without escapes and without header injection', () => {
    const frame = serializeFrame('ERROR', [['message', 'bad\n\nBODY']], undefined, { escape: 'none' });
    expect(framesOf(parseWhole(frame, { commands: ALL_COMMANDS, version: '1.0' }))[0]?.headers).toEqual([['message', 'bad  BODY']]);
  });

  it('refuses a command or header name that cannot be written', () => {
    expect(() => serializeFrame('SEND\nX', [])).toThrow(TypeError);
    expect(() => serializeFrame('SEND', [['', 'v']])).toThrow(TypeError);
    expect(() => serializeFrame('CONNECTED', [['a:b', 'v']])).toThrow(TypeError);
  });
});

describe('serializeMessage', () => {
  const body = Buffer.from('{"content":"hi"}');

  it('writes destination, message-id, subscription, content-type and content-length', () => {
    const frame = serializeMessage(
      { destination: '/topic/room.1', subscription: 'sub-0', messageId: 'm-1', contentType: 'application/json' },
      body,
    );
    expect(text(frame)).toBe(
      'MESSAGE\ndestination:/topic/room.1\nmessage-id:m-1\nsubscription:sub-0\ncontent-type:application/json\n' +
        `content-length:${body.length}\n\n{"content":"hi"}^@`,
    );
  });

  it('writes the same body bytes for every subscription and changes only the subscription header', () => {
    const fields = { destination: '/topic/room.1', messageId: 'm-1', contentType: 'application/json' };
    const first = serializeMessage({ ...fields, subscription: 'a' }, body);
    const second = serializeMessage({ ...fields, subscription: 'b' }, body);
    expect(first.subarray(first.length - body.length - 1)).toEqual(second.subarray(second.length - body.length - 1));
    expect(text(first).replace('subscription:a', 'subscription:b')).toBe(text(second));
  });

  it('keeps the standard headers authoritative over extra headers of the same name', () => {
    const frame = serializeMessage(
      {
        destination: '/topic/room.1',
        subscription: 's',
        messageId: 'm',
        extraHeaders: [
          ['destination', '/evil'],
          ['content-length', '1'],
          ['x-trace', 't:1'],
        ],
      },
      body,
    );
    const [parsed] = framesOf(parseWhole(frame, { commands: ALL_COMMANDS }));
    expect(parsed && header(parsed, 'destination')).toBe('/topic/room.1');
    expect(parsed && header(parsed, 'x-trace')).toBe('t:1');
    expect(parsed?.headers.filter(([name]) => name === 'content-length')).toHaveLength(1);
    expect(parsed?.body).toEqual(body);
  });

  it('escapes per the subscriber session: 1.2 by default, nothing for 1.0', () => {
    const fields = { destination: '/a:b', subscription: 's', messageId: 'm' };
    expect(text(serializeMessage(fields, body))).toContain('destination:/a\\cb\n');
    expect(text(serializeMessage({ ...fields, escape: 'none' }, body))).toContain('destination:/a:b\n');
  });
});

describe('serializer → parser round trip', () => {
  const awkward = [' padded ', 'a:b', 'line\nbreak', 'cr\rhere', '\\n', '\\', 'ünïcødé €😀', '', ':::'];

  it('restores every header name, value and binary body in 1.2', () => {
    const headers: [string, string][] = awkward.map((value, index) => [`h${index}${value}`, value]);
    const body = Buffer.from([0, 1, 2, 0, 255, 10, 13, 0]);
    const bytes = serializeFrame('SEND', [['destination', '/a'], ...headers], body);
    const [frame] = framesOf(parseWhole(bytes));
    expect(frame?.headers).toEqual([['destination', '/a'], ...headers, ['content-length', String(body.length)]]);
    expect(frame?.body).toEqual(body);
  });

  it('restores headers in 1.1 except CR, which 1.1 cannot carry', () => {
    const headers: [string, string][] = awkward.filter((value) => !value.includes('\r')).map((value) => ['x', value]);
    const bytes = serializeFrame('MESSAGE', headers, 'body', { escape: '1.1' });
    const [frame] = framesOf(parseWhole(bytes, { commands: ALL_COMMANDS, version: '1.1' }));
    expect(frame?.headers.slice(0, -1)).toEqual(headers);
  });

  it('parses back-to-back MESSAGE frames serialized for several subscriptions', () => {
    const body = Buffer.from('payload');
    const stream = Buffer.concat(
      ['0', '1', '2'].map((subscription) => serializeMessage({ destination: '/d', subscription, messageId: 'm' }, body)),
    );
    const { events, error } = parseChunks([stream], { commands: ALL_COMMANDS });
    expect(error).toBeUndefined();
    expect(framesOf(events).map((frame) => header(frame, 'subscription'))).toEqual(['0', '1', '2']);
  });
});
