/**
 * Fan-out: R rooms × S subscribers, P publishers sending at a fixed offered rate (open loop:
 * the send schedule never waits for the target), 100-byte bodies. Each step reports delivered
 * messages per second, end-to-end latency from the timestamp in the body, and lost messages. The
 * rate steps up until p99 passes the bound or a message is lost; optionally one more step between
 * the last rate that held and the first that did not narrows the answer.
 */
import { cpus } from 'node:os';
import type { LoadPool } from '../load/load-pool.js';
import type { PublisherSpec, SubscriberSpec } from '../load/protocol.js';
import { cpuSince, cpuSnapshot, describeCpu, type CpuUsage } from '../report/cpu.js';
import { round, summarize, type LatencySummary } from '../report/stats.js';
import { roomOfPublisher, roomOfSubscriber, type Plan, type Target } from '../targets/target.js';
import { clientSpec } from './clients.js';

/** Above this share of the machine busy elsewhere, a step that failed is not taken as the answer. */
const INTERFERENCE_RERUN = 0.1;

export interface FanoutOptions {
  rooms: number;
  subscribersPerRoom: number;
  publishers: number;
  /** Offered SENDs per second (all publishers together), tried in order. */
  rates: number[];
  stepMs: number;
  drainMs: number;
  bodyBytes: number;
  maxP99Ms: number;
  refine: boolean;
  warmupRate: number;
  warmupMs: number;
}

export interface FanoutStep {
  offeredRate: number;
  sentRate: number;
  sent: number;
  expectedDeliveries: number;
  deliveredPerSecond: number;
  lost: number;
  duplicates: number;
  latency: LatencySummary | null;
  closedSockets: number;
  errors: string[];
  /** CPU seconds per process group during the step (sending and draining). */
  cpu: CpuUsage;
  /** Share of the machine's CPU that went to processes outside the run (other work on the box). */
  interference: number;
  /** A step that did not hold while something else was busy on the machine is run once more. */
  rerun?: boolean;
  held: boolean;
  /** Why a step did not hold. */
  reason?: string;
}

export interface FanoutResult {
  subscribers: number;
  publishers: number;
  steps: FanoutStep[];
  /** Highest offered SEND/s that held (p99 within bound, nothing lost); 0 if none did. */
  highestHeldRate: number;
  error?: string;
}

const twoSignificant = (value: number) => {
  const magnitude = 10 ** Math.max(0, Math.floor(Math.log10(value)) - 1);
  return Math.round(value / magnitude) * magnitude;
};

export async function runFanout(
  target: Target,
  pool: LoadPool,
  plan: Plan,
  options: FanoutOptions,
  log: (line: string) => void,
): Promise<FanoutResult> {
  const subscriberCount = plan.rooms * plan.subscribersPerRoom;
  const result: FanoutResult = { subscribers: subscriberCount, publishers: plan.publishers, steps: [], highestHeldRate: 0 };

  const subscriberClients = Array.from({ length: subscriberCount }, (_, index) =>
    clientSpec(target, index, { role: 'subscriber', index }, target.subscribeDestination(roomOfSubscriber(plan, index))),
  );
  const publisherClients = Array.from({ length: plan.publishers }, (_, index) =>
    clientSpec(target, subscriberCount + index, { role: 'publisher', index }),
  );
  const opened = await pool.open([...subscriberClients, ...publisherClients], { concurrency: 50, timeoutMs: 20_000 });
  if (opened.failed > 0) {
    result.error = `could not open ${opened.failed} of ${subscriberClients.length + publisherClients.length} connections: ${opened.errors.join('; ')}`;
    await pool.closeAll();
    return result;
  }

  const publishers: PublisherSpec[] = publisherClients.map((client, index) => ({
    key: client.key,
    publisher: index,
    template: target.sendTemplate(roomOfPublisher(plan, index)),
  }));
  const subscribersFor = (ratePerPublisher: number, durationMs: number): SubscriberSpec[] => {
    const capacity = Math.ceil((ratePerPublisher * durationMs) / 1000) + 8;
    return subscriberClients.map((client, index) => ({
      key: client.key,
      publishers: publishers
        .filter((publisher) => roomOfPublisher(plan, publisher.publisher) === roomOfSubscriber(plan, index))
        .map((publisher) => ({ publisher: publisher.publisher, capacity })),
    }));
  };

  // An overloaded target is still working off its backlog: the next step must not measure that.
  // It may also have cut clients off (the service's flood limit closes a publisher whose socket
  // piled up more pipelined SENDs than it allows); the next step gets them back.
  const settleAfterOverload = async () => {
    await pool.waitQuiet();
    await target.settle();
    const reopened = await pool.open([...subscriberClients, ...publisherClients], { concurrency: 50, timeoutMs: 20_000 });
    if (reopened.opened > 0) log(`  reopened ${reopened.opened} connections the target had closed`);
    if (reopened.failed > 0) throw new Error(`could not reopen ${reopened.failed} connections: ${reopened.errors.join('; ')}`);
  };
  const owners = () => ({ target: target.pid(), generator: [process.pid, ...pool.pids()] });
  let stepNumber = 0;
  const runStep = async (rate: number, durationMs: number, drainMs: number): Promise<FanoutStep> => {
    stepNumber += 1;
    const ratePerPublisher = rate / plan.publishers;
    const cpuBefore = cpuSnapshot(owners());
    const outcome = await pool.fanoutStep({
      step: stepNumber,
      durationMs,
      bodyBytes: options.bodyBytes,
      ratePerPublisher,
      publishers,
      subscribers: subscribersFor(ratePerPublisher, durationMs),
      drainMs,
    });
    const cpu = cpuSince(cpuBefore, owners());
    const sent = Object.values(outcome.sent).reduce((sum, count) => sum + count, 0);
    const { drain } = outcome;
    const latency = summarize(drain.latencies);
    const lost = drain.expected - drain.unique;
    const spanSeconds = Math.max(durationMs / 1000, (drain.lastReceiveMicros - outcome.startedAtMicros) / 1e6);
    const step: FanoutStep = {
      offeredRate: rate,
      sentRate: round(sent / (outcome.sendElapsedMs / 1000), 0),
      sent,
      expectedDeliveries: drain.expected,
      deliveredPerSecond: round(drain.unique / spanSeconds, 0),
      lost,
      duplicates: drain.duplicates,
      latency,
      closedSockets: drain.closedSockets,
      errors: drain.errors,
      cpu,
      interference: round(cpu.other / Math.max(0.01, cpu.wallSeconds * cpus().length), 2),
      held: false,
    };
    if (lost > 0) step.reason = `${lost} of ${drain.expected} deliveries missing ${drainMs} ms after the last SEND`;
    else if (drain.closedSockets > 0) step.reason = `${drain.closedSockets} sockets closed by the target`;
    else if (!latency || latency.p99 > options.maxP99Ms) step.reason = `p99 ${latency?.p99} ms > ${options.maxP99Ms} ms`;
    else step.held = true;
    return step;
  };

  try {
    // Warm-up: JIT, connection pools, and (for the service) consumer group assignment.
    const warmup = await runStep(options.warmupRate, options.warmupMs, 30_000);
    if (warmup.lost > 0) log(`  warm-up lost ${warmup.lost} deliveries (${warmup.reason}); continuing`);
    await target.settle();

    let lastHeld = 0;
    let firstFailed = 0;
    // Other work on a shared box can sink one step; such a step gets one more try.
    const measure = async (rate: number) => {
      let step = await runStep(rate, options.stepMs, options.drainMs);
      result.steps.push(step);
      log(describe(step));
      if (!step.held && step.interference > INTERFERENCE_RERUN) {
        log(`  ${Math.round(step.interference * 100)}% of the CPU went elsewhere during that step: running it again`);
        await settleAfterOverload();
        step = { ...(await runStep(rate, options.stepMs, options.drainMs)), rerun: true };
        result.steps.push(step);
        log(describe(step));
      }
      return step;
    };
    for (const rate of options.rates) {
      const step = await measure(rate);
      if (!step.held) {
        firstFailed = rate;
        await settleAfterOverload();
        break;
      }
      lastHeld = rate;
    }
    if (options.refine && lastHeld > 0 && firstFailed > 0) {
      const middle = twoSignificant(Math.sqrt(lastHeld * firstFailed));
      if (middle > lastHeld && middle < firstFailed) {
        const step = await measure(middle);
        if (!step.held) await settleAfterOverload();
      }
    }
  } catch (error) {
    // The steps measured so far still stand; the rest of the target's workloads still run.
    result.error = (error as Error).message;
  } finally {
    result.highestHeldRate = Math.max(0, ...result.steps.filter((step) => step.held).map((step) => step.offeredRate));
    await pool.closeAll();
  }
  return result;
}

function describe(step: FanoutStep): string {
  const latency = step.latency
    ? `p50 ${step.latency.p50} p90 ${step.latency.p90} p99 ${step.latency.p99} max ${step.latency.max} ms`
    : 'no deliveries';
  return `  fan-out ${step.offeredRate} SEND/s: sent ${step.sentRate}/s, delivered ${step.deliveredPerSecond}/s, ${latency}, lost ${step.lost}; CPU s ${describeCpu(step.cpu)}${step.held ? '' : ` -> not held (${step.reason})`}`;
}
