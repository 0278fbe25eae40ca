import type { Kafka, Producer } from './kafka-client.js';

/**
 * The one producer an instance uses. Idempotent with acks=all, so a retried produce never
 * duplicates and an acknowledged write survives a broker restart. A short linger lets the
 * messages of one busy moment share a request without holding a lone SEND back noticeably.
 * `message.timeout.ms` bounds how long a SEND waits for Kafka before its client is told it failed.
 */
export function createProducer(kafka: Kafka): Producer {
  const producer = kafka.producer({
    'linger.ms': 2,
    'message.timeout.ms': 15_000,
    'socket.connection.setup.timeout.ms': 5_000,
    kafkaJS: { idempotent: true, acks: -1, allowAutoTopicCreation: false },
  });
  return withDeferredDisconnect(producer);
}

/**
 * librdkafka gives up connecting to an unreachable broker only after ~30 s, and a disconnect()
 * issued meanwhile blocks that long too. Shutting down an instance whose Kafka never answered
 * must not take that long: a disconnect during a pending connect returns at once and runs when
 * the connect settles (a failed connect has already released the client).
 */
function withDeferredDisconnect(producer: Producer): Producer {
  const connect = producer.connect.bind(producer);
  const disconnect = producer.disconnect.bind(producer);
  let connecting: Promise<void> | undefined;
  let settled = false;
  producer.connect = () => {
    connecting ??= connect().finally(() => {
      settled = true;
    });
    return connecting;
  };
  producer.disconnect = () => {
    if (connecting && !settled) {
      connecting.then(() => disconnect()).catch(() => {});
      return Promise.resolve();
    }
    return disconnect();
  };
  return producer;
}
