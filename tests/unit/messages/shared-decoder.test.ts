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
  it('should hand the second group the first group\'s result for the same partition and offset', () => {
    const decode = createSharedChatMessageDecoder();
    const first = decode(record('5', encodeChatMessage(message('hello'))));
    // The bytes are not looked at again: a record at an offset never changes.
    const second = decode(record('5', encodeChatMessage(message('other'))));
    expect(second).toBe(first);
    expect(first.content).toBe('hello');
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
    decode(record('1', encodeChatMessage(message('one'))));
    decode(record('2', encodeChatMessage(message('two'))));
    decode(record('3', encodeChatMessage(message('three'))));
    expect(decode(record('1', encodeChatMessage(message('again')))).content).toBe('again');
    expect(decode(record('3', encodeChatMessage(message('x')))).content).toBe('three');
  });
});
