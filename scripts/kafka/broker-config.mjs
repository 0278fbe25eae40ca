/**
 * The one single-node KRaft broker this project runs, in two places: the dev/CI stack
 * (scripts/stack.mjs) and the fault tests' private stack (tests/helpers/fault-stack.ts), which
 * kills and restarts its own. Both take their settings and JVM flags from here.
 */

/**
 * server.properties for one node with combined roles, on `host`:`port` and a controller on
 * `port + 1`.
 * @param {{ host: string, port: number, dataDir: string, header?: string[] }} options
 * @returns {string}
 */
export function kafkaServerProperties({ host, port, dataDir, header = [] }) {
  // "localhost" is pinned to IPv4 so that the listener and the advertised address cannot end up
  // on different stacks.
  const h = host === 'localhost' ? '127.0.0.1' : host;
  const controllerPort = port + 1;
  return [
    ...header.map((line) => `# ${line}`),
    '# Single node, combined roles (KRaft, no ZooKeeper), loopback only.',
    'process.roles=broker,controller',
    'node.id=1',
    // Static quorum (controller.quorum.voters): storage is formatted WITHOUT --standalone.
    `controller.quorum.voters=1@${h}:${controllerPort}`,
    `listeners=PLAINTEXT://${h}:${port},CONTROLLER://${h}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${h}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    '',
    '# One broker: every internal topic replication factor and min ISR must be 1. The defaults',
    '# are 3, and with them __consumer_offsets is never created, so the group coordinator never',
    '# comes up and every consumer hangs in "coordinator not available".',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    '',
    '# Fast tests on a small box: consumers join at once (default delay 3000 ms) and the first',
    '# group does not wait for 50 offsets partitions to be created.',
    'group.initial.rebalance.delay.ms=0',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.num.partitions=1',
    '',
    '# Topics are created explicitly by the app/tests (as in production).',
    'auto.create.topics.enable=false',
    'num.partitions=1',
    'num.network.threads=2',
    'num.io.threads=4',
    '',
  ].join('\n');
}

/**
 * JVM arguments that run `mainClass` (kafka.Kafka, kafka.tools.StorageTool) from the resolved jars.
 * @param {{ libsDir: string, logsDir: string, log4jFile: string, maxHeap?: string, jvm?: string[] }} options
 * @param {string} mainClass
 * @param {...string} args
 * @returns {string[]}
 */
export function kafkaJavaArgs({ libsDir, logsDir, log4jFile, maxHeap = '768m', jvm = [] }, mainClass, ...args) {
  return [
    '-Xms256m',
    `-Xmx${maxHeap}`,
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    ...jvm,
    `-Dlog4j2.configurationFile=${log4jFile}`,
    `-Dkafka.logs.dir=${logsDir}`,
    '-cp',
    `${libsDir}/*`, // one argv entry: the JVM expands the wildcard itself
    mainClass,
    ...args,
  ];
}
