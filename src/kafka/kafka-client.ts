import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from '../logger.js';

export type Kafka = KafkaJS.Kafka;
export type Producer = KafkaJS.Producer;
export type Consumer = KafkaJS.Consumer;
export type Admin = KafkaJS.Admin;
export type KafkaMessage = KafkaJS.KafkaMessage;

/** librdkafka logs through this bridge, so its lines are structured pino lines like everything else. */
function kafkaLogger(log: Logger): KafkaJS.Logger {
  const make = (bindings: Record<string, unknown>): KafkaJS.Logger => {
    const child = log.child(bindings);
    return {
      info: (message, extra) => child.info(extra ?? {}, message),
      error: (message, extra) => child.error(extra ?? {}, message),
      warn: (message, extra) => child.warn(extra ?? {}, message),
      debug: (message, extra) => child.debug(extra ?? {}, message),
      namespace: (namespace) => make({ namespace }),
      setLogLevel: () => {},
    };
  };
  return make({ component: 'kafka' });
}

export function createKafka(options: { brokers: string[]; clientId: string; log: Logger }): Kafka {
  return new KafkaJS.Kafka({
    kafkaJS: {
      brokers: options.brokers,
      clientId: options.clientId,
      logger: kafkaLogger(options.log),
      logLevel: KafkaJS.logLevel.WARN,
    },
  });
}

/** Rejects when `promise` has not settled within `ms`; librdkafka's own connect waits ~30 s against a dead broker. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  // If the deadline wins, the original promise may still reject later; that must not surface as
  // an unhandled rejection.
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
