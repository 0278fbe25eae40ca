import { describe, expect, it } from 'vitest';
import type { StompHeader } from '../../../src/stomp/frame.js';
import { StompProtocolError } from '../../../src/stomp/errors.js';
import { ALL_COMMANDS, chunkings, parseChunks, parseWhole, summarize, wire } from './parse-helpers.js';

interface Example {
  name: string;
  text: string;
  command: string;
  headers: StompHeader[];
  body?: string;
}

// The example frames of the STOMP 1.2 specification, written out as printed (^@ is the NULL octet).
// Where the spec uses placeholders (heart-beat:<cx>,<cy>) concrete numbers stand in.
const ERROR_BODY =
  'The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\nHello queue a!\n-----\n' +
  'Did not contain a destination header, which is REQUIRED\nfor message propagation.\n';

/** The spec's ERROR example with the given content-length. */
function errorExample(contentLength: number): string {
  return (
    'ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\n' +
    `content-length:${contentLength}\nmessage: malformed frame received\n\n${ERROR_BODY}^@`
  );
}

const examples: Example[] = [
  {
    name: 'CONNECT',
    text: 'CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n^@',
    command: 'CONNECT',
    headers: [
      ['accept-version', '1.2'],
      ['host', 'stomp.github.org'],
    ],
  },
  {
    name: 'STOMP',
    text: 'STOMP\naccept-version:1.2\nhost:stomp.github.org\n\n^@',
    command: 'STOMP',
    headers: [
      ['accept-version', '1.2'],
      ['host', 'stomp.github.org'],
    ],
  },
  {
    name: 'CONNECTED',
    text: 'CONNECTED\nversion:1.2\n\n^@',
    command: 'CONNECTED',
    headers: [['version', '1.2']],
  },
  {
    name: 'CONNECT offering 1.0,1.1,2.0 (Protocol Negotiation)',
    text: 'CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n^@',
    command: 'CONNECT',
    headers: [
      ['accept-version', '1.0,1.1,2.0'],
      ['host', 'stomp.github.org'],
    ],
  },
  {
    name: 'CONNECTED answering version 1.1 (Protocol Negotiation)',
    text: 'CONNECTED\nversion:1.1\n\n^@',
    command: 'CONNECTED',
    headers: [['version', '1.1']],
  },
  {
    name: 'ERROR for no common version (Protocol Negotiation)',
    text: 'ERROR\nversion:1.2,2.1\ncontent-type:text/plain\n\nSupported protocol versions are 1.2 2.1^@',
    command: 'ERROR',
    headers: [
      ['version', '1.2,2.1'],
      ['content-type', 'text/plain'],
    ],
    body: 'Supported protocol versions are 1.2 2.1',
  },
  {
    name: 'CONNECT with heart-beat (Heart-beating)',
    text: 'CONNECT\nheart-beat:10000,10000\n\n^@',
    command: 'CONNECT',
    headers: [['heart-beat', '10000,10000']],
  },
  {
    name: 'CONNECTED with heart-beat (Heart-beating)',
    text: 'CONNECTED\nheart-beat:0,5000\n\n^@',
    command: 'CONNECTED',
    headers: [['heart-beat', '0,5000']],
  },
  {
    name: 'SEND',
    text: 'SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n^@',
    command: 'SEND',
    headers: [
      ['destination', '/queue/a'],
      ['content-type', 'text/plain'],
    ],
    body: 'hello queue a\n',
  },
  {
    name: 'SEND asking for a receipt (Header receipt)',
    text: 'SEND\ndestination:/queue/a\nreceipt:message-12345\n\nhello queue a^@',
    command: 'SEND',
    headers: [
      ['destination', '/queue/a'],
      ['receipt', 'message-12345'],
    ],
    body: 'hello queue a',
  },
  {
    name: 'SUBSCRIBE',
    text: 'SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n^@',
    command: 'SUBSCRIBE',
    headers: [
      ['id', '0'],
      ['destination', '/queue/foo'],
      ['ack', 'client'],
    ],
  },
  {
    name: 'UNSUBSCRIBE',
    text: 'UNSUBSCRIBE\nid:0\n\n^@',
    command: 'UNSUBSCRIBE',
    headers: [['id', '0']],
  },
  {
    name: 'ACK',
    text: 'ACK\nid:12345\ntransaction:tx1\n\n^@',
    command: 'ACK',
    headers: [
      ['id', '12345'],
      ['transaction', 'tx1'],
    ],
  },
  {
    // The spec gives no NACK frame, only "NACK takes the same headers as ACK".
    name: 'NACK',
    text: 'NACK\nid:12345\ntransaction:tx1\n\n^@',
    command: 'NACK',
    headers: [
      ['id', '12345'],
      ['transaction', 'tx1'],
    ],
  },
  {
    name: 'BEGIN',
    text: 'BEGIN\ntransaction:tx1\n\n^@',
    command: 'BEGIN',
    headers: [['transaction', 'tx1']],
  },
  {
    name: 'COMMIT',
    text: 'COMMIT\ntransaction:tx1\n\n^@',
    command: 'COMMIT',
    headers: [['transaction', 'tx1']],
  },
  {
    name: 'ABORT',
    text: 'ABORT\ntransaction:tx1\n\n^@',
    command: 'ABORT',
    headers: [['transaction', 'tx1']],
  },
  {
    // Printed without the blank line before ^@, as in the spec.
    name: 'DISCONNECT',
    text: 'DISCONNECT\nreceipt:77\n^@',
    command: 'DISCONNECT',
    headers: [['receipt', '77']],
  },
  {
    name: 'RECEIPT for the DISCONNECT (printed without the blank line)',
    text: 'RECEIPT\nreceipt-id:77\n^@',
    command: 'RECEIPT',
    headers: [['receipt-id', '77']],
  },
  {
    name: 'MESSAGE',
    text: 'MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a^@',
    command: 'MESSAGE',
    headers: [
      ['subscription', '0'],
      ['message-id', '007'],
      ['destination', '/queue/a'],
      ['content-type', 'text/plain'],
    ],
    body: 'hello queue a',
  },
  {
    name: 'MESSAGE with a repeated header (Repeated Header Entries)',
    text: 'MESSAGE\nfoo:World\nfoo:Hello\n\n^@',
    command: 'MESSAGE',
    headers: [
      ['foo', 'World'],
      ['foo', 'Hello'],
    ],
  },
  {
    name: 'RECEIPT',
    text: 'RECEIPT\nreceipt-id:message-12345\n\n^@',
    command: 'RECEIPT',
    headers: [['receipt-id', 'message-12345']],
  },
  {
    // The spec prints content-length:171, one more than its 170-octet body (it counts the NULL);
    // the corrected count is used here, the printed one is tested below.
    name: 'ERROR (content-length corrected to 170)',
    text: errorExample(170),
    command: 'ERROR',
    headers: [
      ['receipt-id', 'message-12345'],
      ['content-type', 'text/plain'],
      ['content-length', '170'],
      ['message', ' malformed frame received'],
    ],
    body: ERROR_BODY,
  },
];

describe('STOMP 1.2 specification examples', () => {
  describe.each(examples)('$name', (example) => {
    const bytes = wire(example.text);

    it('parses to the frame the spec describes', () => {
      const events = parseWhole(bytes, { commands: ALL_COMMANDS });
      expect(events).toEqual([
        {
          type: 'frame',
          frame: { command: example.command, headers: example.headers, body: Buffer.from(example.body ?? '') },
        },
      ]);
    });

    it('parses identically when split at every byte boundary and fed byte by byte', () => {
      const expected = summarize(parseChunks([bytes], { commands: ALL_COMMANDS }));
      for (const chunks of chunkings(bytes)) {
        expect(summarize(parseChunks(chunks, { commands: ALL_COMMANDS }))).toEqual(expected);
      }
    });
  });

  it('keeps the leading space of the ERROR example\'s "message: malformed frame received"', () => {
    const [event] = parseWhole(wire(examples.at(-1)?.text ?? ''), { commands: ALL_COMMANDS });
    expect(event?.type === 'frame' && event.frame.headers.at(-1)).toEqual(['message', ' malformed frame received']);
  });

  it('rejects the ERROR example as printed (content-length:171) once a byte other than NULL follows', () => {
    const printed = wire(errorExample(171));
    const { events, error } = parseChunks([printed, '\n'], { commands: ALL_COMMANDS });
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(StompProtocolError);
    expect(error).toMatchObject({ code: 'bad-terminator' });
  });

  it('parses all the examples back to back in one chunk, with heart-beats between them', () => {
    const stream = Buffer.concat(examples.flatMap((example) => [wire(example.text), Buffer.from('\r\n\n')]));
    const events = parseWhole(stream, { commands: ALL_COMMANDS });
    const commands = events.flatMap((event) => (event.type === 'frame' ? [event.frame.command] : []));
    expect(commands).toEqual(examples.map((example) => example.command));
    expect(events.filter((event) => event.type === 'heartbeat')).toHaveLength(examples.length * 2);
  });
});
