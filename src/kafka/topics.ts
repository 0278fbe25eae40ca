import type { Admin } from './kafka-client.js';

export interface Topics {
  messages: string;
  readReceipts: string;
  messagesDlt: string;
  readReceiptsDlt: string;
}

export const dltOf = (topic: string) => `${topic}.dlt`;

export function topicNames(prefix: string): Topics {
  const messages = `${prefix}chat.messages`;
  const readReceipts = `${prefix}chat.read-receipts`;
  return { messages, readReceipts, messagesDlt: dltOf(messages), readReceiptsDlt: dltOf(readReceipts) };
}

export function topicSpecs(topics: Topics): { topic: string; numPartitions: number }[] {
  // chat.messages is keyed by roomId: 6 partitions let up to 6 instances share the work while
  // every room keeps its order. Receipts are light; DLTs are read by people, so one partition each.
  return [
    { topic: topics.messages, numPartitions: 6 },
    { topic: topics.readReceipts, numPartitions: 3 },
    { topic: topics.messagesDlt, numPartitions: 1 },
    { topic: topics.readReceiptsDlt, numPartitions: 1 },
  ];
}

/** librdkafka's "all brokers down" code: worth asking again until the budget runs out. */
const ERR_TRANSPORT = -195;
const LIST_CALL_MS = 2_000;

/**
 * Lists topics in short calls rather than one long one: the admin client's disconnect() is
 * synchronous and waits for a request in flight, so one 15 s call against an unreachable broker
 * would freeze the event loop of an instance shutting down for that long.
 */
async function listTopicsWithin(admin: Admin, budgetMs: number): Promise<string[]> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const remaining = deadline - Date.now();
    try {
      return await admin.listTopics({ timeout: Math.max(1, Math.min(LIST_CALL_MS, remaining)) });
    } catch (error) {
      if ((error as { code?: number }).code !== ERR_TRANSPORT || deadline - Date.now() <= 0) throw error;
      // A refusal can come back at once; do not spin on it.
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(0, deadline - Date.now()))));
    }
  }
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, topics: Topics, timeoutMs = 15_000): Promise<string[]> {
  const existing = new Set(await listTopicsWithin(admin, timeoutMs));
  const missing = topicSpecs(topics).filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return [];
  try {
    // replicationFactor -1 takes the broker's default, so one config serves a single node and a cluster.
    await admin.createTopics({ timeout: timeoutMs, topics: missing.map((spec) => ({ ...spec, replicationFactor: -1 })) });
  } catch (error) {
    // Another instance starting at the same moment may have won the race; that is the same outcome.
    if (!/already exists/i.test(String((error as Error).message))) throw error;
  }
  return missing.map((spec) => spec.topic);
}
