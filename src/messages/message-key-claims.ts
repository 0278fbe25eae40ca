/**
 * A client-chosen `messageKey` makes a resend harmless; it must never make a RECEIPT lie. Rows are
 * unique on (sender, key), so a key copied from someone else's message gets a row of its own.
 * What the database cannot see at SEND time is a record still on its way to it, so a SEND with a
 * key of its own first claims the key:
 * - in PostgreSQL: the stored message with this sender and key must be this very message (room,
 *   type, content), and no other sender's message in this room may carry the key;
 * - in Redis, atomically: `sender:key → room + fingerprint` and `room:key → sender`, each for
 *   `ttlSeconds`, so two SENDs in flight at once cannot both pass.
 * A refusal is a CONFLICT naming the key. With one of the two stores away the other decides alone;
 * with both away the SEND is refused as UNAVAILABLE. What this leaves open is in
 * docs/pipeline.md ("What is not promised").
 */
import { createHash } from 'node:crypto';
import type { Sql } from '../db/client.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/redis-client.js';
import { withTimeout } from '../with-timeout.js';
import type { ChatMessage } from './chat-message.js';
import { findKeyUse } from './message-store.js';

/**
 * Claims both keys or neither; says which one is taken by something else. A sender's claim that
 * matches is a resend, harmless whoever else claimed the key in the room meanwhile.
 */
const CLAIM = `
local own = redis.call('GET', KEYS[1])
if own then
  if own ~= ARGV[1] then return 'own' end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3], 'NX')
  return 'ok'
end
local room = redis.call('GET', KEYS[2])
if room and room ~= ARGV[2] then return 'room' end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 'ok'`;

type Verdict = 'ok' | 'own' | 'room' | 'unavailable';

export interface MessageKeyClaims {
  /** Resolves when `message` may be produced under its key; throws an AppError otherwise. */
  claim(message: ChatMessage): Promise<void>;
}

export const contentFingerprint = (message: Pick<ChatMessage, 'roomId' | 'type' | 'content'>) =>
  createHash('sha256').update(`${message.roomId}\u0000${message.type}\u0000${message.content}`).digest('base64url').slice(0, 22);

export function createMessageKeyClaims(deps: {
  sql: Sql;
  redis: RedisClient;
  keyPrefix: string;
  ttlSeconds: number;
  log: Logger;
  /** The database's answer is waited for this long before Redis decides alone. */
  databaseTimeoutMs?: number;
}): MessageKeyClaims {
  const databaseTimeoutMs = deps.databaseTimeoutMs ?? 1_000;

  async function inDatabase(message: ChatMessage): Promise<Verdict> {
    try {
      const use = await withTimeout(findKeyUse(deps.sql, message), databaseTimeoutMs, 'message key lookup');
      if (!use) return 'ok';
      if (use.senderId !== message.senderId) return 'room';
      return use.roomId === message.roomId && use.type === message.type && use.content === message.content ? 'ok' : 'own';
    } catch (error) {
      deps.log.warn({ err: error, messageKey: message.messageKey }, 'message key not checked in the database; redis decides');
      return 'unavailable';
    }
  }

  async function inRedis(message: ChatMessage): Promise<Verdict> {
    try {
      const verdict = await deps.redis.eval(CLAIM, {
        keys: [
          `${deps.keyPrefix}message-key:sender:${message.senderId}:${message.messageKey}`,
          `${deps.keyPrefix}message-key:room:${message.roomId}:${message.messageKey}`,
        ],
        arguments: [`${message.roomId}:${contentFingerprint(message)}`, String(message.senderId), String(deps.ttlSeconds)],
      });
      return verdict as Verdict;
    } catch (error) {
      deps.log.warn({ err: error, messageKey: message.messageKey }, 'message key not claimed in redis; the database decides');
      return 'unavailable';
    }
  }

  function refuse(verdict: Verdict, message: ChatMessage): never {
    if (verdict === 'own') {
      throw new AppError(
        'CONFLICT',
        `messageKey ${message.messageKey} already names another message of yours; use a new key for a new message`,
      );
    }
    if (verdict === 'room') {
      throw new AppError('CONFLICT', `messageKey ${message.messageKey} is already used in room ${message.roomId}; use a new key`);
    }
    throw new AppError('UNAVAILABLE', 'message not sent: its messageKey could not be checked; send it again');
  }

  return {
    async claim(message) {
      // The database first: a key it already refuses never takes a claim in Redis.
      const stored = await inDatabase(message);
      if (stored === 'own' || stored === 'room') refuse(stored, message);
      const claimed = await inRedis(message);
      if (claimed === 'own' || claimed === 'room') refuse(claimed, message);
      if (stored === 'unavailable' && claimed === 'unavailable') refuse('unavailable', message);
    },
  };
}
