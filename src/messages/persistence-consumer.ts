import { isTransientDatabaseError } from '../db/transient.js';
import type { ConsumedRecord, RecordHandler } from '../kafka/consumer-runner.js';
import { decodeChatMessage, type ChatMessage } from './chat-message.js';
import { storeMessages, type StoreResult } from './message-store.js';
import type { Sql } from '../db/client.js';

/**
 * Group `chat-persistence`: every record of chat.messages becomes one row, exactly once, with
 * unread counts raised in the same transaction. `afterCommit` runs only once the rows are durable
 * (cache upkeep, metrics); its failure does not undo or repeat the write.
 */
export function createPersistenceHandler(deps: {
  sql: Sql;
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
    },
    isTransient: isTransientDatabaseError,
  };
}
