import { describe, expect, it } from 'vitest';
import { createSharedChatMessageDecoder, encodeChatMessage, type ChatMessage } from '../../../src/messages/chat-message.js';
import { PoisonRecordError } from '../../../src/kafka/record-json.js';

const message = (content: string): ChatMessage => ({
  messageKey: '8d3f9c52-4a8e-4c1f-9d2b-3f6a1e0b7c55',
  roomId: 7,
  senderId: 3,
  senderNickname: 'ada',
  content,
  type: 'TEXT',
  timestamp: '2026-11-25T20:00:00.000Z',
});
const record = (offset: string, value: Buffer | string | null, partition = 0) => ({ partition, offset, value });

describe('shared chat message decoder', () => {
  it("should hand the second group the first group's result for the same record", () => {
    const decode = createSharedChatMessageDecoder();
    const bytes = encodeChatMessage(message('hello'));
    const first = decode(record('5', Buffer.from(bytes)));
    expect(decode(record('5', Buffer.from(bytes)))).toBe(first);
  });

  it('should decode bytes of its own when the same partition and offset hold other bytes (a topic made again)', () => {
    const decode = createSharedChatMessageDecoder();
    decode(record('5', Buffer.from(encodeChatMessage(message('old')))));
    expect(decode(record('5', Buffer.from(encodeChatMessage(message('new'))))).content).toBe('new');
  });

  it('should decode again once both groups have read a record, and tell partitions apart', () => {
    const decode = createSharedChatMessageDecoder();
    decode(record('5', encodeChatMessage(message('a'))));
    decode(record('5', encodeChatMessage(message('a'))));
    expect(decode(record('5', encodeChatMessage(message('b')))).content).toBe('b');
    expect(decode(record('5', encodeChatMessage(message('c')), 1)).content).toBe('c');
  });

  it('should keep no result for a record that does not decode, so each group fails it', () => {
    const decode = createSharedChatMessageDecoder();
    expect(() => decode(record('9', 'not json'))).toThrow(PoisonRecordError);
    expect(() => decode(record('9', 'not json'))).toThrow(PoisonRecordError);
  });

  it('should forget the oldest results past its capacity', () => {
    const decode = createSharedChatMessageDecoder(2);
    const bytes = (content: string) => Buffer.from(encodeChatMessage(message(content)));
    const one = decode(record('1', bytes('one')));
    decode(record('2', bytes('two')));
    const three = decode(record('3', bytes('three')));
    expect(decode(record('1', bytes('one')))).not.toBe(one);
    expect(decode(record('3', bytes('three')))).toBe(three);
  });
});
