import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createPublishGate } from '../../../src/redis/publish-gate.js';

function harness(graceMs = 3_000) {
  const client = new EventEmitter();
  let clock = 1_000;
  const slept: number[] = [];
  const gate = createPublishGate(client, {
    graceMs,
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
  });
  return { client, gate, slept, advance: (ms: number) => (clock += ms) };
}

describe('publish gate', () => {
  it('should not hold publishes after the first connect', async () => {
    const { client, gate, slept } = harness();
    client.emit('ready');
    await gate.wait();
    expect(slept).toEqual([]);
  });

  it('should hold publishes for the grace after a reconnect, then let them through', async () => {
    const { client, gate, slept, advance } = harness(3_000);
    client.emit('ready');
    client.emit('error', new Error('Socket closed unexpectedly'));
    client.emit('reconnecting');
    advance(5_000);
    client.emit('ready');
    advance(1_200);
    await gate.wait();
    expect(slept).toEqual([1_800]);
    await gate.wait();
    expect(slept).toEqual([1_800]);
  });

  it('should start the grace again from the latest comeback', async () => {
    const { client, gate, slept, advance } = harness(3_000);
    client.emit('ready');
    client.emit('reconnecting');
    client.emit('ready');
    advance(2_000);
    client.emit('error', new Error('ECONNRESET'));
    client.emit('ready');
    await gate.wait();
    expect(slept).toEqual([3_000]);
  });

  it('should stop listening once closed', () => {
    const { client, gate } = harness();
    gate.close();
    expect(client.listenerCount('ready') + client.listenerCount('error') + client.listenerCount('reconnecting')).toBe(0);
  });
});
