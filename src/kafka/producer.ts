import type { Kafka, Producer } from './kafka-client.js';

/**
 * The one producer an instance uses. Idempotent with acks=all, so a retried produce never
 * duplicates and an acknowledged write survives a broker restart. Linger 1 ms: at 0 every
 * produce wakes librdkafka's broker thread, which then fights the event loop for the partition
 * queue and sends many tiny requests; under ingest load the produce call alone was 17 % of the
 * event loop and Kafka used twice the CPU. 1 ms costs a lone SEND about 1.7 ms on its RECEIPT
 * (p50 0.4 → 2.1 ms; any linger above 0 costs about that, librdkafka then waits for its own
 * timer) and buys about 20 % more ingest (bench/README.md). `message.timeout.ms` bounds how long
 * a SEND waits for Kafka before its client is told it failed.
 */
export function createProducer(kafka: Kafka, hooks: { onSendError?(error: unknown): void } = {}): Producer {
  const producer = kafka.producer({
    'linger.ms': 1,
    'message.timeout.ms': 15_000,
    'socket.connection.setup.timeout.ms': 5_000,
    kafkaJS: { idempotent: true, acks: -1, allowAutoTopicCreation: false },
  });
  return withSendErrorHook(withDeferredDisconnect(producer), hooks.onSendError);
}

/** Every failed send is shown to `onSendError` (the topic keeper looks for "Unknown topic"), then rethrown. */
function withSendErrorHook(producer: Producer, onSendError: ((error: unknown) => void) | undefined): Producer {
  if (!onSendError) return producer;
  const send = producer.send.bind(producer);
  producer.send = (record) =>
    send(record).catch((error: unknown) => {
      onSendError(error);
      throw error;
    });
  return producer;
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
