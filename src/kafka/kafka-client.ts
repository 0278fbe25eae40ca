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
