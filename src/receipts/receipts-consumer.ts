import { isTransientDatabaseError } from '../db/transient.js';
import type { BatchContext, ConsumedRecord, RecordHandler } from '../kafka/consumer-runner.js';
import type { Logger } from '../logger.js';
import type { MessageArrivals } from '../messages/message-arrivals.js';
import { decodeJsonRecord, PoisonRecordError } from '../kafka/record-json.js';
import type { RedisClient } from '../redis/redis-client.js';
import { publishRoomEvent } from '../redis/room-events.js';
import type { UnreadCache } from '../unread/unread-cache.js';
import type { ReceiptsRepository } from './receipts-repository.js';
import { readReceiptRecordSchema, type ReadReceiptRecord } from './receipt-schemas.js';

/** The named message is not stored: retried by the runner, then dead-lettered. */
export class ReceiptTargetMissingError extends Error {
  override name = 'ReceiptTargetMissingError';
}

/** The receipt can never apply (message of another room, reader not a member). */
export class ReceiptRejectedError extends Error {
  override name = 'ReceiptRejectedError';
}

export function decodeReadReceipt(value: Buffer | null): ReadReceiptRecord {
  const record = decodeJsonRecord(readReceiptRecordSchema, value, 'read receipt');
  if (record.lastReadMessageId === undefined && record.lastReadMessageKey === undefined) {
    throw new PoisonRecordError('invalid read receipt: names no message');
  }
  return record;
}

/**
 * Group `chat-read-receipts`. Each receipt is applied in its own transaction (forward only, so a
 * redelivered or out-of-date receipt changes nothing), then, after the commit, the reader's
 * cached unread count is replaced and a READ event goes out to the room's events. The cache and
 * the event are best effort after the commit: a failed cache write becomes an invalidation that is
 * retried, and a lost event is only a late badge, so neither sends the receipt round again.
 *
 * A receipt naming by key a message not stored yet is deferred until `arrivals` sees it (or gives
 * up, and the receipt is dead-lettered); the receipts after it, of any room, go on meanwhile. Read
 * marks only move forward, so applying it later than its successors changes nothing they did.
 */
export function createReceiptsHandler(deps: {
  repository: ReceiptsRepository;
  unread: UnreadCache;
  redis: RedisClient;
  keyPrefix: string;
  log: Logger;
  arrivals: MessageArrivals;
  onApplied?: (record: ReadReceiptRecord, outcome: { changed: boolean; unreadCount: number }) => void;
}): RecordHandler {
  async function applyOne(record: ReadReceiptRecord, raw: ConsumedRecord, context: BatchContext): Promise<void> {
    const byKey = record.lastReadMessageId === undefined;
    const named = byKey ? { key: record.lastReadMessageKey! } : { id: record.lastReadMessageId! };
    const message = await deps.repository.findMessage(record.roomId, named);
    if (!message) {
      if (byKey && context.defer) {
        const ref = { roomId: record.roomId, messageKey: record.lastReadMessageKey! };
        context.defer(raw, (signal) => deps.arrivals.waitFor(ref, signal).then(() => undefined));
        return;
      }
      const what = record.lastReadMessageId ?? record.lastReadMessageKey;
      throw new ReceiptTargetMissingError(`message ${what} is not stored in room ${record.roomId}`);
    }
    if (message.roomId !== record.roomId) {
      throw new ReceiptRejectedError(`message ${message.id} belongs to room ${message.roomId}, not ${record.roomId}`);
    }
    const member = { roomId: record.roomId, userId: record.userId };
    // The generation is read before the transaction, so a message stored meanwhile shows as a change.
    const ticket = await deps.unread.beginWrite(member);
    const outcome = await deps.repository.apply(record.roomId, record.userId, message.id);
    if (!outcome) throw new ReceiptRejectedError(`user ${record.userId} is not a member of room ${record.roomId}`);
    deps.onApplied?.(record, outcome);
    if (!outcome.changed) return;

    await deps.unread.commitWrite(ticket, outcome.unreadCount);
    await publishRoomEvent(deps.redis, deps.keyPrefix, 'READ', record.roomId, {
      userId: record.userId,
      lastReadMessageId: outcome.lastReadMessageId,
      unreadCount: outcome.unreadCount,
    }).catch((error: unknown) => deps.log.warn({ err: error, roomId: record.roomId }, 'read event not published'));
  }

  return {
    async handleBatch(records: ConsumedRecord[], context: BatchContext) {
      // In order: a room's receipts share a partition, and a later receipt must see an earlier one.
      for (const record of records) await applyOne(decodeReadReceipt(record.value), record, context);
    },
    isTransient: isTransientDatabaseError,
  };
}
