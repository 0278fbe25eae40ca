import type { Kafka, Producer } from './kafka-client.js';

/**
 * The one producer an instance uses. Idempotent with acks=all, so a retried produce never
 * duplicates and an acknowledged write survives a broker restart. A short linger lets the
 * messages of one busy moment share a request without holding a lone SEND back noticeably.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    'linger.ms': 2,
    'message.timeout.ms': 15_000,
    'socket.connection.setup.timeout.ms': 5_000,
    kafkaJS: { idempotent: true, acks: -1, allowAutoTopicCreation: false },
  });
}
