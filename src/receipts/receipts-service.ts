import { AppError, forbidden, notFound } from '../errors.js';
import type { Producer } from '../kafka/kafka-client.js';
import type { Logger } from '../logger.js';
import { enforceLimit, type RateLimiter } from '../rate-limit/shared-window-limiter.js';
import type { MessageRef, ReceiptsRepository } from './receipts-repository.js';
import type { ReadReceiptRecord, ReadTarget } from './receipt-schemas.js';

export interface ReceiptAccepted {
  record: ReadReceiptRecord;
  /** Settles once Kafka has the record (acks=all). */
  durable: Promise<void>;
}

/** Per user, shared by all instances, like the SEND limit. */
export type ReceiptRateLimiter = Pick<RateLimiter, 'acquire'>;

/**
 * The front half of a read receipt, shared by REST and STOMP: checks what can be checked now,
 * then one record on chat.read-receipts keyed by room, so a room's receipts keep their order.
 * Each receipt costs a query and a Kafka record, so a user's receipts are rate-limited first.
 */
export function createReceiptsService(deps: {
  repository: ReceiptsRepository;
  producer: Producer;
  topic: string;
  log: Logger;
  limiter: ReceiptRateLimiter;
}) {
  return {
    /**
     * 404 for an unknown room, 403 for a non-member, 404 for a message id that is not in this
     * room (unknown, or in another room: both answer the same, so the answer says nothing about
     * rooms the caller cannot see). A key is looked up in this room only; one whose message is
     * not stored there yet is accepted, because the client may have seen it live before the
     * persistence consumer wrote it: the consumer waits for it, and dead-letters the receipt if
     * it never appears.
     */
    async submit(userId: number, roomId: number, target: ReadTarget): Promise<ReceiptAccepted> {
      await enforceLimit(deps.limiter, userId, 'read receipts');
      const ref: MessageRef =
        target.lastReadMessageId !== undefined ? { id: target.lastReadMessageId } : { key: target.lastReadMessageKey! };
      const check = await deps.repository.check(roomId, userId, ref);
      if (!check.roomExists) throw notFound(`Room ${roomId} not found`);
      if (!check.isMember) throw forbidden(`Not a member of room ${roomId}`);
      const named = 'id' in ref ? `Message ${ref.id}` : `Message ${ref.key}`;
      if (check.message && check.message.roomId !== roomId) throw notFound(`${named} not found in room ${roomId}`);
      if (!check.message && 'id' in ref) throw notFound(`${named} not found in room ${roomId}`);

      const record: ReadReceiptRecord = {
        roomId,
        userId,
        ...(check.message ? { lastReadMessageId: check.message.id } : {}),
        ...('key' in ref ? { lastReadMessageKey: ref.key } : {}),
        timestamp: new Date().toISOString(),
      };
      const durable = deps.producer.send({ topic: deps.topic, messages: [{ key: String(roomId), value: JSON.stringify(record) }] }).then(
        () => undefined,
        (error: unknown) => {
          // The client learns that it must send again; the client library's wording stays in the log.
          deps.log.warn({ err: error, roomId, userId }, 'read receipt produce failed');
          throw new AppError('UNAVAILABLE', 'read receipt not recorded: the message broker did not acknowledge it; send it again');
        },
      );
      return { record, durable };
    },
  };
}

export type ReceiptsService = ReturnType<typeof createReceiptsService>;
