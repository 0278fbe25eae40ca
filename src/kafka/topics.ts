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

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, topics: Topics, timeoutMs = 15_000): Promise<string[]> {
  const existing = new Set(await admin.listTopics({ timeout: timeoutMs }));
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
