import { describe, expect, it } from 'vitest';
import { abandonedPending, withTimeout } from '../../src/with-timeout.js';

describe('withTimeout', () => {
  it('should count a promise it gave up on until that promise settles', async () => {
    let finish!: () => void;
    const slow = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const before = abandonedPending();
    await expect(withTimeout(slow, 10, 'slow step')).rejects.toThrow('slow step timed out after 10 ms');
    expect(abandonedPending()).toBe(before + 1);
    finish();
    await slow;
    await Promise.resolve();
    expect(abandonedPending()).toBe(before);
  });

  it('should not count a promise that settled in time', async () => {
    const before = abandonedPending();
    await expect(withTimeout(Promise.resolve('done'), 1_000, 'quick step')).resolves.toBe('done');
    await expect(withTimeout(Promise.reject(new Error('failed')), 1_000, 'failing step')).rejects.toThrow('failed');
    expect(abandonedPending()).toBe(before);
  });
});
