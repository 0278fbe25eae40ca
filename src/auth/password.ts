import argon2 from 'argon2';

// OWASP's argon2id baseline (19 MiB, t=2, p=1): strong enough for a chat login while keeping a
// sign-up around 20-30 ms on a small core, so a login burst does not starve the event loop.
const options = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => argon2.hash(password, options);

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** A real hash of a random secret, verified against when the email is unknown so both paths cost the same. */
export const dummyHashPromise = () => hashPassword(`no-such-user-${Math.random()}`);
