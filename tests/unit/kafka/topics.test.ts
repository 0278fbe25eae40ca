import { describe, expect, it } from 'vitest';
import type { Admin } from '../../../src/kafka/kafka-client.js';
import { ensureTopics, topicNames, topicSpecs } from '../../../src/kafka/topics.js';

const transportFailure = () => Object.assign(new Error('Local: Broker transport failure'), { code: -195 });

function fakeAdmin(listTopics: (options: { timeout: number }) => Promise<string[]>) {
  const created: { topic: string; numPartitions: number }[][] = [];
  const calls: number[] = [];
  const admin = {
    listTopics: (options: { timeout: number }) => {
      calls.push(options.timeout);
      return listTopics(options);
    },
    createTopics: async ({ topics }: { topics: { topic: string; numPartitions: number }[] }) => {
      created.push(topics.map(({ topic, numPartitions }) => ({ topic, numPartitions })));
      return true;
    },
  } as unknown as Admin;
  return { admin, created, calls };
}

describe('topics', () => {
  it('should prefix every topic and name each DLT after its topic', () => {
    expect(topicNames('t_1.')).toEqual({
      messages: 't_1.chat.messages',
      readReceipts: 't_1.chat.read-receipts',
      messagesDlt: 't_1.chat.messages.dlt',
      readReceiptsDlt: 't_1.chat.read-receipts.dlt',
    });
    expect(topicSpecs(topicNames('')).map((spec) => [spec.topic, spec.numPartitions])).toEqual([
      ['chat.messages', 6],
      ['chat.read-receipts', 3],
      ['chat.messages.dlt', 1],
      ['chat.read-receipts.dlt', 1],
    ]);
  });

  it('should create only the topics that are missing', async () => {
    const { admin, created } = fakeAdmin(async () => ['chat.messages', 'chat.messages.dlt', 'other']);
    expect(await ensureTopics(admin, topicNames(''))).toEqual(['chat.read-receipts', 'chat.read-receipts.dlt']);
    expect(created).toEqual([
      [
        { topic: 'chat.read-receipts', numPartitions: 3 },
        { topic: 'chat.read-receipts.dlt', numPartitions: 1 },
      ],
    ]);
  });

  it('should ask an unreachable broker again in short calls until the budget runs out', async () => {
    let failures = 2;
    const { admin, calls } = fakeAdmin(async () => {
      if (failures-- > 0) throw transportFailure();
      return [];
    });
    await ensureTopics(admin, topicNames(''), 15_000);
    expect(calls).toHaveLength(3);
    for (const timeout of calls) expect(timeout).toBeLessThanOrEqual(2_000);
  });

  it('should give up with the broker error once the budget is spent', async () => {
    const { admin } = fakeAdmin(async () => {
      throw transportFailure();
    });
    await expect(ensureTopics(admin, topicNames(''), 300)).rejects.toThrow('Broker transport failure');
  });

  it('should not retry an error that is not about reaching the broker', async () => {
    const { admin, calls } = fakeAdmin(async () => {
      throw Object.assign(new Error('Admin client is not connected.'), { code: -172 });
    });
    await expect(ensureTopics(admin, topicNames(''), 15_000)).rejects.toThrow('not connected');
    expect(calls).toHaveLength(1);
  });
});
