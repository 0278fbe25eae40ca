import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectError, signup } from '../helpers/http.js';
import { cleanupTestEnv, startTestApp, testEnv, TEST_JWT_SECRET, type TestApp } from '../helpers/test-app.js';

const isolation = testEnv({ AUTH_RATE_LIMIT_PER_MINUTE: '1000' });
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp(isolation, { listen: false });
});
afterAll(async () => {
  await t?.close();
  await cleanupTestEnv(isolation, t?.app);
});

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
function handMadeToken(payload: object, options: { alg?: string; secret?: string } = {}): string {
  const header = b64({ alg: options.alg ?? 'HS256', typ: 'JWT' });
  const body = b64(payload);
  if (options.alg === 'none') return `${header}.${body}.`;
  const signature = createHmac('sha256', options.secret ?? TEST_JWT_SECRET)
    .update(`${header}.${body}`)
    .digest('base64url');
  return `${header}.${body}.${signature}`;
}

describe('POST /api/auth/signup', () => {
  it('should create the account and return a token that /api/users/me accepts', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      payload: { email: '  Alice.Signup@Example.COM ', password: 'password123', nickname: 'Alice' },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toEqual({ token: expect.any(String), userId: expect.any(Number), email: 'alice.signup@example.com', nickname: 'Alice' });
    expect(response.body).not.toMatch(/argon2|passwordHash|password_hash/);

    const me = await t.app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(body.token) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: body.userId, email: 'alice.signup@example.com', nickname: 'Alice', status: 'OFFLINE' });
    expect(me.body).not.toMatch(/argon2|passwordHash|password_hash/);
  });

  it('should store the password as an argon2id hash', async () => {
    const user = await signup(t.app);
    const rows = await t.app.deps.database.sql`select password_hash from users where id = ${user.userId}`;
    expect(rows[0]?.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('should return 409 for a taken email, also when differently cased', async () => {
    const user = await signup(t.app);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      payload: { email: user.email.toUpperCase(), password: 'password123', nickname: 'Dup' },
    });
    expectError(again, 409, '/api/auth/signup');
  });

  it.each([
    ['a bad email', { email: 'not-an-email', password: 'password123', nickname: 'x' }, 'email'],
    ['a password under 8 characters', { email: 'short@example.com', password: 'short', nickname: 'x' }, 'password'],
    ['an empty nickname', { email: 'nick@example.com', password: 'password123', nickname: '   ' }, 'nickname'],
    ['a wrong type', { email: 'type@example.com', password: 12345678, nickname: 'x' }, 'password'],
    ['a missing field', { email: 'missing@example.com', password: 'password123' }, 'nickname'],
  ])('should return 400 naming the field for %s', async (_case, payload, field) => {
    const response = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload });
    const body = expectError(response, 400, '/api/auth/signup');
    expect(body.message).toContain(field);
  });

  it('should return 400 for broken JSON', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": "a@b.c", ',
    });
    expectError(response, 400);
  });
});

describe('POST /api/auth/login', () => {
  it('should return a token for the right pair, with the email in any case', async () => {
    const user = await signup(t.app, { password: 'the right password' });
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: ` ${user.email.toUpperCase()}`, password: 'the right password' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ token: expect.any(String), userId: user.userId, email: user.email, nickname: user.nickname });
  });

  it('should return 401 for a wrong password and for an unknown email, with the same message', async () => {
    const user = await signup(t.app);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password: 'wrong password' },
    });
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'nobody@example.com', password: 'wrong password' },
    });
    expect(expectError(wrong, 401).message).toBe(expectError(unknown, 401).message);
  });
});

describe('bearer token on /api routes', () => {
  let user: Awaited<ReturnType<typeof signup>>;
  beforeAll(async () => {
    user = await signup(t.app);
  });

  const me = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/users/me', headers });

  it('should return 401 without a token', async () => {
    expectError(await me({}), 401, '/api/users/me');
  });

  it('should return 401 for a malformed token', async () => {
    expectError(await me(bearer('not.a.jwt')), 401);
    expectError(await me({ authorization: 'Basic dXNlcjpwYXNz' }), 401);
  });

  it('should return 401 for an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = handMadeToken({ sub: String(user.userId), email: user.email, iat: now - 7200, exp: now - 3600 });
    const body = expectError(await me(bearer(token)), 401);
    expect(body.message).toMatch(/expired/i);
  });

  it('should return 401 for a tampered token', async () => {
    const [header, payload, signature] = user.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const tampered = `${header}.${b64({ ...claims, sub: String(user.userId + 1) })}.${signature}`;
    expectError(await me(bearer(tampered)), 401);
  });

  it('should return 401 for a token signed with another secret', async () => {
    const token = handMadeToken(
      { sub: String(user.userId), email: user.email, iat: Math.floor(Date.now() / 1000) },
      { secret: 'another-secret-that-is-long-enough-too!!' },
    );
    expectError(await me(bearer(token)), 401);
  });

  it('should return 401 for an alg:none token', async () => {
    const token = handMadeToken({ sub: String(user.userId), email: user.email, iat: Math.floor(Date.now() / 1000) }, { alg: 'none' });
    expectError(await me(bearer(token)), 401);
  });

  it('should return 401 for a valid token of a deleted user', async () => {
    const doomed = await signup(t.app);
    await t.app.deps.database.sql`delete from users where id = ${doomed.userId}`;
    expectError(await me(bearer(doomed.token)), 401);
  });

  it('should answer 200 with a valid token', async () => {
    const response = await me(bearer(user.token));
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBeTruthy();
  });
});

describe('auth rate limit', () => {
  it('should answer 429 with Retry-After past the per-email limit', async () => {
    // Windows are shared through Redis by every instance with the same key prefix: this one needs
    // its own, or the logins of the other tests here would count against its limit of 3.
    const limited = await startTestApp(isolation, {
      env: { AUTH_RATE_LIMIT_PER_MINUTE: '3', MIGRATE_ON_START: 'false', REDIS_KEY_PREFIX: `${isolation.env.REDIS_KEY_PREFIX}limited:` },
      listen: false,
    });
    try {
      const attempt = () =>
        limited.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'victim@example.com', password: 'guess guess' } });
      for (let i = 0; i < 3; i += 1) expect((await attempt()).statusCode).toBe(401);
      const blocked = await attempt();
      expectError(blocked, 429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
