import { isTransientDatabaseError } from '../db/transient.js';
import type { ConsumedRecord, RecordHandler } from '../kafka/consumer-runner.js';
import { decodeChatMessage, type ChatMessage } from './chat-message.js';
import { findKeyConflicts, storeMessages, type StoredMessageInput, type StoreResult } from './message-store.js';
import type { Logger } from '../logger.js';
import type { Sql } from '../db/client.js';

/**
 * Group `chat-persistence`: every record of chat.messages becomes one row, exactly once, with
 * unread counts raised in the same transaction. `afterCommit` runs only once the rows are durable
 * (cache upkeep, metrics); its failure does not undo or repeat the write. A record whose sender's
 * key is stored already with other content is not stored, and is logged: it was delivered live.
 */
export function createPersistenceHandler(deps: {
  sql: Sql;
  log?: Logger;
  afterCommit?: (result: StoreResult) => Promise<void>;
  decode?: (record: ConsumedRecord) => ChatMessage;
}): RecordHandler {
  const decode = deps.decode ?? ((record: ConsumedRecord) => decodeChatMessage(record.value));
  return {
    async handleBatch(records: ConsumedRecord[]) {
      const batch = records.map((record) => ({
        message: decode(record),
        partition: record.partition,
        offset: record.offset,
      }));
      const result = await storeMessages(deps.sql, batch);
      await deps.afterCommit?.(result).catch(() => {});
      if (result.inserted.length < batch.length && deps.log) await reportConflicts(deps.sql, deps.log, batch);
    },
    isTransient: isTransientDatabaseError,
  };
}

/** Some records were not inserted: those whose stored row says something else are not resends. */
async function reportConflicts(sql: Sql, log: Logger, batch: StoredMessageInput[]): Promise<void> {
  const conflicts = await findKeyConflicts(
    sql,
    batch.map((item) => item.message),
  ).catch(() => []);
  for (const message of conflicts) {
    log.warn(
      { messageKey: message.messageKey, senderId: message.senderId, roomId: message.roomId },
      "record reuses its sender's stored message key with other content: not stored, but delivered live",
    );
  }
}
