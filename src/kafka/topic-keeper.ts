import type { Logger } from '../logger.js';
import type { Admin } from './kafka-client.js';
import { ensureTopics, topicSpecs, type Topics } from './topics.js';

/** What the keeper needs of a consumer: its topic, and a way to swap it for a fresh one. */
export interface KeptConsumer {
  readonly topic: string;
  retire(): Promise<void>;
  renew(): Promise<void>;
}

export interface TopicKeeperOptions {
  admin: Admin;
  topics: Topics;
  log: Logger;
  /** How often the topics are looked at. */
  intervalMs: number;
  /** How long a topic must have been missing before it is created again. */
  graceMs?: number;
}

/** Short: the admin client's disconnect() waits for a request in flight, and shutdown disconnects it. */
const LOOK_TIMEOUT_MS = 2_000;
/** How long a stop waits for a look in progress (which never renews anything once stopped). */
const STOP_WAIT_MS = 3_000;
const DEFAULT_GRACE_MS = 5_000;
/** Produce errors come in bursts; one look a second answers them all. */
const NUDGE_INTERVAL_MS = 1_000;

/**
 * Keeps this instance's topics there (issue 15 item 12). A broker replaced by an empty one (a
 * developer wiped the local stack, a cluster was re-created) has none of them: every produce
 * fails with "Unknown topic", and a consumer never reads a topic created again under it. So the
 * topics are looked at every `intervalMs`, and at once when a produce fails that way:
 *
 * - a topic missing: the consumers of it are retired (they leave the group, and their last
 *   commits fail against a topic that does not exist); once it has been missing for `graceMs`,
 *   it is created again with its partitions, and its consumers are renewed as fresh consumers.
 *   The grace outlasts the commits a consumer makes as it loses its partitions, so none of those
 *   can land on the new topic and skip its first records; the new topic's records are read from
 *   the beginning (the group's offsets of the old one went with it);
 * - a topic whose id changed (another instance, or an operator, created it again meanwhile): its
 *   consumers are renewed.
 *
 * A broker that does not answer is not this keeper's business: the look fails and is tried again.
 */
export function createTopicKeeper(options: TopicKeeperOptions) {
  const { admin, topics, log } = options;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const names = topicSpecs(topics).map((spec) => spec.topic);
  const consumers: KeptConsumer[] = [];
  const topicIds = new Map<string, string>();
  const retired = new Set<KeptConsumer>();
  let missingSince: number | undefined;
  let looking: Promise<void> | undefined;
  let lastNudge = 0;
  let timer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let stopped = true;

  const consumersOf = (lost: string[]) => consumers.filter((consumer) => lost.includes(consumer.topic));

  async function renew(which: Iterable<KeptConsumer>): Promise<void> {
    await Promise.all(
      [...which].map(async (consumer) => {
        try {
          await consumer.renew();
          retired.delete(consumer);
        } catch (error) {
          retired.add(consumer);
          log.warn({ err: error, topic: consumer.topic }, 'kafka consumer not renewed; trying again at the next look');
        }
      }),
    );
  }

  /** Which topics are missing, and which exist with another id than last seen. */
  async function inspect(): Promise<{ missing: string[]; replaced: string[] }> {
    const existing = new Set(await admin.listTopics({ timeout: LOOK_TIMEOUT_MS }));
    const missing = names.filter((name) => !existing.has(name));
    for (const name of missing) topicIds.delete(name);
    const present = names.filter((name) => existing.has(name));
    const replaced: string[] = [];
    if (present.length > 0) {
      for (const metadata of await admin.fetchTopicMetadata({ topics: present, timeout: LOOK_TIMEOUT_MS })) {
        // The typings name the base64 form differently from the runtime; the two halves are in both.
        const uuid = metadata.topicId;
        if (!uuid) continue;
        const id = `${uuid.mostSignificantBits}:${uuid.leastSignificantBits}`;
        const before = topicIds.get(metadata.name);
        topicIds.set(metadata.name, id);
        if (before !== undefined && before !== id) replaced.push(metadata.name);
      }
    }
    return { missing, replaced };
  }

  async function lookOnce(): Promise<void> {
    let state: { missing: string[]; replaced: string[] };
    try {
      state = await inspect();
    } catch (error) {
      log.debug({ err: error }, 'kafka topics not looked at: the broker did not answer');
      return;
    }
    if (stopped) return;
    if (state.replaced.length > 0) {
      log.warn({ topics: state.replaced }, 'kafka topics were created again meanwhile; renewing their consumers');
      await renew(consumersOf(state.replaced));
    }
    if (state.missing.length === 0) {
      // Created again by another instance, or a renewal that failed: bring the retired back.
      if (retired.size > 0) await renew([...retired]);
      missingSince = undefined;
      return;
    }
    if (missingSince === undefined) {
      missingSince = Date.now();
      log.warn(
        { topics: state.missing, graceMs },
        'kafka topics missing (was the broker replaced or wiped?); their consumers stop, and the topics are created again',
      );
    }
    const lost = consumersOf(state.missing).filter((consumer) => !retired.has(consumer));
    for (const consumer of lost) retired.add(consumer);
    await Promise.all(
      lost.map((consumer) =>
        consumer.retire().catch((error: unknown) => log.warn({ err: error, topic: consumer.topic }, 'retiring a kafka consumer failed')),
      ),
    );

    const wait = missingSince + graceMs - Date.now();
    if (wait > 0) {
      clearTimeout(graceTimer);
      graceTimer = setTimeout(() => void look(), wait);
      graceTimer.unref();
      return;
    }
    try {
      const created = await ensureTopics(admin, topics, LOOK_TIMEOUT_MS * 2);
      log.warn({ topics: created, missingForMs: Date.now() - missingSince }, 'kafka topics created again');
    } catch (error) {
      log.warn({ err: error }, 'kafka topics could not be created again; trying at the next look');
      return;
    }
    missingSince = undefined;
    await renew([...retired]);
  }

  /** One look at a time; a look asked for during one runs after it. */
  function look(): Promise<void> {
    if (stopped) return Promise.resolve();
    looking ??= lookOnce().finally(() => {
      looking = undefined;
    });
    return looking;
  }

  return {
    /** Consumers to retire and renew with their topic. */
    keep(consumer: KeptConsumer): void {
      consumers.push(consumer);
    },
    look,
    /** A produce failed with "Unknown topic": look now, at most once a second. */
    nudge(): void {
      const now = Date.now();
      if (now - lastNudge < NUDGE_INTERVAL_MS) return;
      lastNudge = now;
      void look();
    },
    async start(): Promise<void> {
      stopped = false;
      await look();
      timer = setInterval(() => void look(), options.intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      clearTimeout(graceTimer);
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([looking, new Promise((resolve) => (bound = setTimeout(resolve, STOP_WAIT_MS)))]);
      clearTimeout(bound);
    },
  };
}

export type TopicKeeper = ReturnType<typeof createTopicKeeper>;

/** librdkafka's "the topic does not exist" errors, local and from the broker. */
export function isUnknownTopicError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === -188 || code === 3 || /unknown topic/i.test(String((error as Error | null)?.message ?? ''));
}
