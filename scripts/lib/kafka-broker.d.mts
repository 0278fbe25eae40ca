export interface KafkaJavaOptions {
  libsDir: string;
  logsDir: string;
  log4jFile: string;
  maxHeap?: string;
  jvm?: string[];
}

/** scripts/kafka/log4j2.xml. */
export const KAFKA_LOG4J: string;
/** server.properties for one node with combined roles on host:port, its controller on port + 1. */
export function kafkaServerProperties(options: { host: string; port: number; dataDir: string; header?: string[] }): string;
/** JVM arguments that run `mainClass` (kafka.Kafka, kafka.tools.StorageTool) from the resolved jars. */
export function kafkaJavaArgs(options: KafkaJavaOptions, mainClass: string, ...args: string[]): string[];
/** The version scripts/kafka/pom.xml pins and a hash of the pom. */
export function kafkaVersionFromPom(): { version: string; pomHash: string };
/** The broker jars in `libsDir`, resolved with mvn when missing or stale; resolvedMs is 0 when they were there. */
export function resolveKafkaJars(options: { libsDir: string; onProgress?: (message: string) => void }): {
  version: string;
  resolvedMs: number;
};
/** A new cluster id in Kafka's Uuid format. */
export function kafkaClusterId(): string;
/** StorageTool format -g: formats the storage named in `propsFile`, or leaves formatted storage alone. */
export function formatKafkaStorage(options: {
  java: string;
  javaOptions: KafkaJavaOptions;
  propsFile: string;
  clusterId: string;
  cwd: string;
}): void;
