import { afterAll, beforeAll, describe, it } from 'vitest';
import { ensureTopics, topicSpecs } from '../../src/kafka/topics.js';
import { testKafka } from '../helpers/kafka.js';
import { expectPipelineResumed, expectTopicsBack, openChatProbe, sendUntilAccepted } from '../helpers/kafka-recovery.js';
import type { TestStompClient } from '../helpers/stomp.js';
import { cleanupTestEnv, startTestApp, testEnv, type TestApp } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 12: a Kafka that lost its topics (a developer wiped the local stack, a cluster
 * was re-created). Here this test's own prefixed topics are deleted on the shared broker under a
 * running instance; tests/faults/deployment.test.ts replaces a whole private broker.
 */

const isolation = testEnv({ RATE_LIMIT_MESSAGES_PER_SECOND: '100', KAFKA_TOPIC_CHECK_INTERVAL_MS: '1000' });
let t: TestApp;
const clients: TestStompClient[] = [];
const admin = testKafka().admin();

beforeAll(async () => {
  t = await startTestApp(isolation);
  await admin.connect();
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await admin.disconnect().catch(() => {});
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

async function deleteTopics(app: TestApp): Promise<void> {
  const names = topicSpecs(app.app.deps.topics).map((spec) => spec.topic);
  await admin.deleteTopics({ topics: names, timeout: 10_000 });
  await waitFor(async () => (await admin.listTopics()).every((topic) => !names.includes(topic)), {
    timeoutMs: 15_000,
    what: 'the topics gone',
  });
}

describe('a Kafka that lost its topics', () => {
  it('should re-create the topics and resume producing and all three consumer groups by itself', async () => {
    const probe = await openChatProbe(t, clients);
    await deleteTopics(t);
    const lostAt = Date.now();

    const { content, attempts } = await sendUntilAccepted(probe, 90_000);
    console.log(`kafka topics lost: the first SEND accepted again ${Date.now() - lostAt} ms after the deletion, attempt ${attempts}`);
    await expectTopicsBack(admin, t.app.deps.topics);
    await expectPipelineResumed(probe, content);
    console.log(`kafka topics lost: stored, delivered and read ${Date.now() - lostAt} ms after the deletion`);
  }, 240_000);

  it('should renew the consumers of topics that were deleted and created again between two looks (another instance was quicker)', async () => {
    // An instance of its own, which looks only when asked: the topics go and come back unseen.
    const quiet = testEnv({ KAFKA_TOPIC_CHECK_INTERVAL_MS: '600000' });
    const other = await startTestApp(quiet);
    try {
      const probe = await openChatProbe(other, clients);
      await deleteTopics(other);
      // Created again as another instance's keeper does it: after its grace, which outlasts the
      // commits a consumer retries as it loses a topic (a commit landing on the new topic would skip records).
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      await ensureTopics(admin as never, other.app.deps.topics);

      await other.app.deps.topicKeeper.look();
      const { content } = await sendUntilAccepted(probe, 30_000);
      await expectPipelineResumed(probe, content);
    } finally {
      await other.close();
      await cleanupTestEnv(quiet, other.app);
    }
  }, 120_000);
});
