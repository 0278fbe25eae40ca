/**
 * The one single-node KRaft broker this project runs, in two places: the dev/CI stack
 * (scripts/stack.mjs) and the fault tests' private stack (tests/helpers/fault-stack.ts), which
 * kills and restarts its own. Both take from here its settings, JVM flags and jars (resolved
 * with mvn from scripts/kafka/pom.xml), and format its storage the same way.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { findMvn } from './binaries.mjs';
import { ScriptError } from './errors.mjs';
import { KAFKA_ASSETS } from './paths.mjs';
import { run } from './processes.mjs';
import { secondsSince } from './wait.mjs';

const KAFKA_POM = path.join(KAFKA_ASSETS, 'pom.xml');
/** The broker's log4j2 configuration (its server.log goes to `-Dkafka.logs.dir`). */
export const KAFKA_LOG4J = path.join(KAFKA_ASSETS, 'log4j2.xml');

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

/** The Kafka version scripts/kafka/pom.xml pins, and a hash of the pom (a changed pom means new jars). */
export function kafkaVersionFromPom() {
  let pom;
  try {
    pom = fs.readFileSync(KAFKA_POM, 'utf8');
  } catch {
    throw new ScriptError(`${KAFKA_POM} is missing`);
  }
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!m) throw new ScriptError(`no <kafka.version> in ${KAFKA_POM}`);
  return { version: m[1].trim(), pomHash: createHash('sha256').update(pom).digest('hex') };
}

const MARKER = '.resolved.json';

/** Are the jars in `libsDir` complete and resolved from this pom? */
function libsComplete(libsDir, pomHash) {
  let marker;
  try {
    marker = JSON.parse(fs.readFileSync(path.join(libsDir, MARKER), 'utf8'));
  } catch {
    return false;
  }
  if (!marker || marker.pomHash !== pomHash || !Array.isArray(marker.jars) || marker.jars.length === 0) return false;
  return marker.jars.every((jar) => fs.existsSync(path.join(libsDir, jar)));
}

/**
 * The broker's runtime classpath in `libsDir`, resolved from Maven Central with the pom in
 * scripts/kafka when it is missing or stale; `resolvedMs` is 0 when nothing had to be resolved.
 * mvn fills a folder of its own which is then renamed into place, so an interrupted run never
 * leaves a half-filled folder that looks complete, a version change never leaves old jars next to
 * new ones, and two runs resolving at once do not write into the same folder.
 */
export function resolveKafkaJars({ libsDir, onProgress = () => {} }) {
  const { version, pomHash } = kafkaVersionFromPom();
  if (libsComplete(libsDir, pomHash)) return { version, resolvedMs: 0 };
  const mvn = findMvn();
  const start = Date.now();
  const tmp = `${libsDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(tmp), { recursive: true });
  onProgress(`resolving Apache Kafka ${version} broker jars from Maven Central into ${libsDir} (the first time can take a few minutes)…`);
  const args = [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    KAFKA_POM,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${tmp}`,
  ];
  const r = run(mvn, args, { cwd: KAFKA_ASSETS, stdio: ['ignore', 'pipe', 'pipe'] });
  const jars = fs.existsSync(tmp) ? fs.readdirSync(tmp).filter((f) => f.endsWith('.jar')) : [];
  if (!r.ok || !jars.some((jar) => jar.startsWith(`kafka_2.13-${version}`))) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const said = `${r.stdout}${r.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new ScriptError(`mvn could not resolve org.apache.kafka:kafka_2.13:${version} (exit ${r.status}):\n${said}`);
  }
  fs.writeFileSync(path.join(tmp, MARKER), `${JSON.stringify({ version, pomHash, jars: jars.sort() }, null, 2)}\n`);
  if (libsComplete(libsDir, pomHash)) {
    fs.rmSync(tmp, { recursive: true, force: true }); // another run got there first
  } else {
    fs.rmSync(libsDir, { recursive: true, force: true });
    fs.renameSync(tmp, libsDir);
  }
  onProgress(`${jars.length} jars in ${libsDir} (${secondsSince(start)}s)`);
  return { version, resolvedMs: Date.now() - start };
}

/** A new cluster id as Kafka's Uuid.toString() makes one: 16 random bytes, base64url, never starting with '-'. */
export function kafkaClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Formats the KRaft storage named in `propsFile` for `clusterId` (a no-op on storage already
 * formatted, thanks to -g). `java` runs the StorageTool with `javaOptions` (as for kafkaJavaArgs).
 */
export function formatKafkaStorage({ java, javaOptions, propsFile, clusterId, cwd }) {
  const args = kafkaJavaArgs(javaOptions, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile, '-g');
  const r = run(java, args, { cwd });
  if (!r.ok) throw new ScriptError(`Kafka StorageTool format failed:\n${r.stdout}${r.stderr}`);
}
