let abandoned = 0;

/**
 * Promises that withTimeout gave up on and that have not settled yet. librdkafka's close, commit
 * and admin calls run on libuv's thread pool, and process.exit() joins that pool's threads: while
 * one of them still waits for a broker, exiting normally would block with it (src/shutdown).
 */
export const abandonedPending = (): number => abandoned;

/**
 * Rejects when `promise` has not settled within `ms`. librdkafka's connect waits ~30 s against a
 * dead broker and a queued Redis command waits until Redis returns: callers bound such waits.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  // If the deadline wins, the original promise may still reject later; that must not surface as
  // an unhandled rejection.
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abandoned += 1;
          const settled = () => {
            abandoned -= 1;
          };
          promise.then(settled, settled);
          reject(new Error(`${what} timed out after ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
