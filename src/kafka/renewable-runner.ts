import { createConsumerRunner, type ConsumerRunner, type ConsumerRunnerOptions } from './consumer-runner.js';

/**
 * A consumer runner that can be replaced by a fresh one with the same options. A consumer whose
 * topic is deleted and created again never reads the new topic (librdkafka keeps the old one's
 * state), and a disconnected consumer cannot connect again, so the topic keeper retires the runner
 * while its topic is missing and renews it, as a new consumer in the same group, once the topic
 * is back. Everyone else holds this object and never sees the swap.
 */
export interface RenewableRunner extends ConsumerRunner {
  readonly topic: string;
  /** Stops the current consumer (leaving the group) until `renew`. */
  retire(): Promise<void>;
  /** A fresh consumer in place of the current one, started. Throws if it cannot start; it stays retired then. */
  renew(): Promise<void>;
}

export function createRenewableRunner(options: ConsumerRunnerOptions, create = createConsumerRunner): RenewableRunner {
  let current = create(options);
  let retired = false;
  let stopped = false;

  async function retire(): Promise<void> {
    if (retired || stopped) return;
    retired = true;
    await current.stop();
  }

  return {
    groupId: options.groupId,
    topic: options.topic,
    start: () => current.start(),
    async stop() {
      stopped = true;
      await current.stop();
    },
    assignment: () => (retired ? [] : current.assignment()),
    retire,
    async renew() {
      await retire();
      if (stopped) return;
      const fresh = create(options);
      current = fresh;
      try {
        await fresh.start();
        retired = false;
      } catch (error) {
        await fresh.stop().catch(() => {});
        throw error;
      }
    },
  };
}
