/**
 * Apache Kafka for the stack: reused where a broker answers, else one KRaft node of its own
 * (broker and controller, the controller on the broker port + 1), run as a daemon from the jars
 * resolved into <stack>/kafka/libs, with <stack>/kafka/{data,logs,server.properties,cluster-id,
 * pid,kafka.out}. "Ours" means: the pid file names a live kafka.Kafka.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findJava } from '../lib/binaries.mjs';
import { ScriptError } from '../lib/errors.mjs';
import {
  formatKafkaStorage,
  KAFKA_LOG4J,
  kafkaClusterId,
  kafkaJavaArgs,
  kafkaServerProperties,
  resolveKafkaJars,
} from '../lib/kafka-broker.mjs';
import { isAlive, isOurProcess, readPid, terminatePid } from '../lib/pids.mjs';
import { portFree } from '../lib/ports.mjs';
import { probeKafka, probeKafkaAny } from '../lib/probes.mjs';
import { describeExit, fileTail, startChild } from '../lib/processes.mjs';
import { secondsSince, waitForProbe } from '../lib/wait.mjs';
import { bindAddress } from './config.mjs';
import { shown } from './output.mjs';
import { assertMayStart } from './start-guard.mjs';

const START_TIMEOUT_MS = 90_000;
// SIGTERM is a controlled shutdown (flushes logs, closes the metadata log): well under a second
// on an idle single node, but it can take ~10 s under load, hence the generous bound.
const STOP_TIMEOUT_MS = 30_000;
const STARTED_LINE_GRACE_MS = 10_000;

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function fileSize(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Kafka versions compared numerically, part by part ("4.1.0" < "4.10.0"). */
function compareVersions(a, b) {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  }
  return 0;
}

export function createKafkaService({ stackDir, out }) {
  const dir = path.join(stackDir, 'kafka');
  const libsDir = path.join(dir, 'libs');
  const data = path.join(dir, 'data');
  const logsDir = path.join(dir, 'logs');
  const serverLog = path.join(logsDir, 'server.log');
  const propsFile = path.join(dir, 'server.properties');
  const clusterIdFile = path.join(dir, 'cluster-id');
  const formattedByFile = path.join(dir, 'formatted-by-version');
  const pidFile = path.join(dir, 'pid');
  const outFile = path.join(dir, 'kafka.out');
  const javaOptions = { libsDir, logsDir, log4jFile: KAFKA_LOG4J };

  function ours() {
    const pid = readPid(pidFile);
    if (!pid || !isOurProcess(pid, 'kafka.Kafka')) return undefined;
    const m = /^listeners=PLAINTEXT:\/\/[^,]*:(\d+)/m.exec(readText(propsFile));
    return { pid, port: m ? Number(m[1]) : undefined };
  }

  const logTails = () =>
    [`--- ${shown(serverLog)} (tail) ---`, fileTail(serverLog, 40), `--- ${shown(outFile)} (tail) ---`, fileTail(outFile, 20)].join('\n');

  /**
   * The cluster id (created once, kept) and formatted storage. A newer Kafka reads an older one's
   * storage, not the other way round: the metadata log holds the newer metadata.version ("No
   * MetadataVersion with feature level N") and the broker dies at start. This broker's data is
   * disposable, so on a downgrade it is wiped and formatted again.
   */
  function prepareStorage(java, version) {
    const formattedBy = readText(formattedByFile).trim();
    if (formattedBy && compareVersions(version, formattedBy) < 0) {
      out.info(`kafka: storage was formatted by Kafka ${formattedBy}; ${version} cannot read it, wiping ${shown(data)}`);
      fs.rmSync(data, { recursive: true, force: true });
      fs.rmSync(clusterIdFile, { force: true });
      fs.mkdirSync(data, { recursive: true });
    }
    let clusterId = readText(clusterIdFile).trim();
    if (!clusterId) {
      clusterId = kafkaClusterId();
      fs.writeFileSync(clusterIdFile, `${clusterId}\n`);
    }
    if (!fs.existsSync(path.join(data, 'meta.properties'))) {
      out.info(`kafka: formatting KRaft storage (cluster id ${clusterId})`);
      formatKafkaStorage({ java, javaOptions, propsFile, clusterId, cwd: dir });
      fs.writeFileSync(formattedByFile, `${version}\n`);
    }
  }

  /** Has the broker logged its start line since `offset` (server.log is appended to across runs)? */
  function logSaysStarted(offset) {
    const size = fileSize(serverLog);
    const from = size < offset ? 0 : offset; // rolled over meanwhile
    if (size === from) return false;
    const fd = fs.openSync(serverLog, 'r');
    try {
      const buf = Buffer.alloc(size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      return buf.includes('Kafka Server started');
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Until it answers and has logged its start line; fails at once when the process dies. */
  function waitForStart(cfg, child, start, logOffset) {
    let answeringSince = 0;
    const probe = async () => {
      const r = await probeKafka(cfg);
      if (r.state !== 'ok') return r;
      // The socket answering is what clients need. The start line is waited for too, so that a
      // broker that logs nothing (the slf4j binding trap) is noticed; but not for long.
      if (logSaysStarted(logOffset)) return r;
      answeringSince ||= Date.now();
      if (Date.now() - answeringSince <= STARTED_LINE_GRACE_MS)
        return { state: 'down', detail: 'answering, waiting for "Kafka Server started"' };
      out.info(`kafka: answers, but ${shown(serverLog)} has no "Kafka Server started" line (logging broken?)`);
      return r;
    };
    return waitForProbe(probe, {
      timeoutMs: START_TIMEOUT_MS,
      onSlow: out.slow('kafka'),
      onTick: () => {
        const status = child.exitStatus();
        if (status || !isAlive(child.pid)) {
          const how = status ? describeExit(status) : '?';
          throw new ScriptError(`the broker process (pid ${child.pid}) exited (${how}) after ${secondsSince(start)}s\n${logTails()}`);
        }
      },
    });
  }

  /** A broker of ours that does not answer yet (an interrupted or concurrent `up`): waits; false when it exits meanwhile. */
  async function waitForOurs(cfg, mine) {
    out.info(`kafka: stack's broker (pid ${mine.pid}) is not answering yet, waiting`);
    const gone = new Error('exited');
    const probe = await waitForProbe(() => probeKafka(cfg), {
      timeoutMs: START_TIMEOUT_MS,
      onTick: () => {
        if (!isAlive(mine.pid)) throw gone;
      },
    }).catch((err) => {
      if (err === gone) return { state: 'down', detail: 'exited' };
      throw err;
    });
    if (probe.state === 'ok') return true;
    if (isAlive(mine.pid)) {
      const where = `${cfg.host}:${cfg.port}`;
      const retry = 'run "node scripts/stack.mjs down kafka" and retry';
      throw new ScriptError(`the stack's broker (pid ${mine.pid}) does not answer at ${where}; ${retry}\n${logTails()}`);
    }
    out.info(`kafka: the stack's broker (pid ${mine.pid}) exited, starting a new one`);
    return false;
  }

  async function ensure(cfg) {
    const where = `${cfg.host}:${cfg.port}`;
    let probe = await probeKafkaAny(cfg.brokers);
    const mine = ours();
    const mineHere = mine && mine.port === cfg.port;
    if (probe.state !== 'ok' && mineHere && (await waitForOurs(cfg, mine))) probe = await probeKafkaAny(cfg.brokers);
    if (probe.state === 'ok') {
      const at = `${probe.broker.host}:${probe.broker.port}`;
      const ourOwn = mineHere && probe.broker.port === cfg.port && isAlive(mine.pid);
      out.summary(ourOwn ? `kafka: already running (started by stack, pid ${mine.pid}) on ${at}` : `kafka: reusing ${at}`);
      return;
    }
    const probed = cfg.brokers.map((b) => `${b.host}:${b.port}`).join(',');
    const speaks = 'answer a Kafka ApiVersions request';
    const stillMine = mine && isAlive(mine.pid) ? mine : undefined;
    assertMayStart({ service: 'kafka', what: 'Kafka broker', speaks, cfg, probe, mine: stillMine, probed });
    fs.rmSync(pidFile, { force: true }); // stale: its process is gone

    const java = findJava();
    const { version, resolvedMs } = resolveKafkaJars({ libsDir, onProgress: (message) => out.info(`kafka: ${message}`) });
    const host = bindAddress(cfg.host);
    if (!(await portFree(cfg.port + 1, host)))
      throw new ScriptError(`the controller port ${cfg.port + 1} (broker port + 1) on ${host} is in use`);

    const start = Date.now();
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(logsDir, { recursive: true });
    const header = ['Generated by scripts/stack.mjs on every "up" from scripts/lib/kafka-broker.mjs: edit that, not this file.'];
    fs.writeFileSync(propsFile, kafkaServerProperties({ host: cfg.host, port: cfg.port, dataDir: data, header }));
    prepareStorage(java, version);

    out.info(`kafka: starting Apache Kafka ${version} on ${where} (controller ${cfg.port + 1})`);
    const logOffset = fileSize(serverLog);
    // A daemon: its own session, so it outlives this script and a ^C in the terminal that ran it.
    const child = startChild(java, kafkaJavaArgs(javaOptions, 'kafka.Kafka', propsFile), {
      name: 'kafka',
      cwd: dir,
      output: { file: outFile },
      daemon: true,
    });
    fs.writeFileSync(pidFile, `${child.pid}\n`);
    probe = await waitForStart(cfg, child, start, logOffset);
    if (probe.state !== 'ok') {
      const how = `it is left running (stop it with "node scripts/stack.mjs down kafka")`;
      throw new ScriptError(
        `broker (pid ${child.pid}) did not answer at ${where} within ${START_TIMEOUT_MS / 1000}s; ${how}\n${logTails()}`,
      );
    }
    // Remember the newest version that has run on this storage (see prepareStorage).
    const formattedBy = readText(formattedByFile).trim();
    if (!formattedBy || compareVersions(version, formattedBy) > 0) fs.writeFileSync(formattedByFile, `${version}\n`);
    const resolved = resolvedMs ? `, jars resolved in ${(resolvedMs / 1000).toFixed(1)}s` : '';
    out.summary(`kafka: started Apache Kafka ${version} on ${where} (pid ${child.pid}) in ${secondsSince(start)}s${resolved}`);
  }

  async function stop() {
    const mine = ours();
    if (!mine) {
      fs.rmSync(pidFile, { force: true });
      return undefined;
    }
    const onEscalate = () => out.info(`kafka: still running after ${STOP_TIMEOUT_MS / 1000}s, sending SIGKILL`);
    const how = await terminatePid(mine.pid, { timeoutMs: STOP_TIMEOUT_MS, onEscalate });
    fs.rmSync(pidFile, { force: true });
    return `${how} (pid ${mine.pid})`;
  }

  return { name: 'kafka', logFile: serverLog, probe: (cfg) => probeKafkaAny(cfg.brokers), ours, ensure, stop };
}
