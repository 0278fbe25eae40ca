import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess } from '../helpers/app-process.js';
import { deleteTestTopics } from '../helpers/kafka.js';
import { dropDatabase, uniqueSuffix } from '../helpers/services.js';
import { openRawStomp } from '../helpers/stomp.js';
import { testEnv } from '../helpers/test-app.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 15 item 3: no log line, at any level, holds a token or a password. A real server process
 * logs at trace (everything pino and Fastify can say) while a client does what clients do with
 * their secrets: signs up and logs in (also with a body too broken to parse), connects to /ws
 * with `?access_token=` as a browser must, with an Authorization or a passcode header, uses REST
 * with a bearer token and with the token in the query, and tries a tampered token. Then every line
 * the process wrote is searched.
 */
const isolation = testEnv({ LOG_LEVEL: 'trace' });
let app: AppProcess;

beforeAll(async () => {
  app = await startAppProcess({ env: isolation.env, name: 'log-secrets' });
});

afterAll(async () => {
  await app?.stop();
  await deleteTestTopics(isolation.env.KAFKA_TOPIC_PREFIX!).catch(() => {});
  await dropDatabase(isolation.databaseUrl).catch(() => {});
});

async function http(path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.body,
  });
  return { status: response.status, text: await response.text() };
}

describe('secrets in the log', () => {
  it('should write no token and no password to any log line at LOG_LEVEL=trace', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const email = `secrets_${uniqueSuffix()}@example.com`;
    const signup = await http('/api/auth/signup', { method: 'POST', body: JSON.stringify({ email, password, nickname: 'secretive' }) });
    expect(signup.status).toBe(201);
    const { token } = JSON.parse(signup.text) as { token: string };
    expect((await http('/api/auth/login', { method: 'POST', body: JSON.stringify({ email, password }) })).status).toBe(200);
    expect((await http('/api/auth/login', { method: 'POST', body: JSON.stringify({ email, password: `${password}-wrong` }) })).status).toBe(
      401,
    );
    // Broken JSON: the parser's message quotes the start of the body it could not read.
    expect((await http('/api/auth/login', { method: 'POST', body: `{"email":"${email}","password":"${password}` })).status).toBe(400);

    expect((await http('/api/users/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await http(`/api/users/me?access_token=${token}`);
    await http(`/api/users/me?token=${token}&password=${password}`);
    const tampered = `${token.slice(0, -4)}AAAA`;
    expect((await http('/api/users/me', { headers: { authorization: `Bearer ${tampered}` } })).status).toBe(401);

    // The browser's way: the token in the query of the WebSocket URL, no CONNECT header.
    const viaQuery = await openRawStomp(app.baseUrl, { query: `?access_token=${encodeURIComponent(token)}` });
    viaQuery.send('CONNECT\naccept-version:1.2\nhost:chat\nheart-beat:0,0\n\n\u0000');
    await viaQuery.frame('CONNECTED');
    viaQuery.send('SUBSCRIBE\nid:0\ndestination:/user/queue/errors\n\n\u0000');
    viaQuery.send('SEND\ndestination:/app/chat.send\ncontent-type:application/json\n\n{"roomId":999999,"content":"hello"}\u0000');
    viaQuery.close();
    const viaHeader = await openRawStomp(app.baseUrl);
    viaHeader.send(`CONNECT\naccept-version:1.2\nhost:chat\nheart-beat:0,0\nAuthorization:Bearer ${token}\n\n\u0000`);
    await viaHeader.frame('CONNECTED');
    viaHeader.close();
    const viaPasscode = await openRawStomp(app.baseUrl);
    viaPasscode.send(`CONNECT\naccept-version:1.2\nhost:chat\nlogin:${email}\npasscode:${tampered}\n\n\u0000`);
    await viaPasscode.frame('ERROR');
    const badQuery = await openRawStomp(app.baseUrl, { query: `?access_token=${tampered}` });
    badQuery.send('CONNECT\naccept-version:1.2\nhost:chat\n\n\u0000');
    await badQuery.frame('ERROR');

    // The request log line of the /ws upgrade is there, so the search below covers it.
    await waitFor(
      () =>
        app.logs.some(
          (line) => line.json?.msg === 'incoming request' && String((line.json.req as { url?: string })?.url).startsWith('/ws?'),
        ),
      {
        what: 'the request log line of /ws?access_token=',
      },
    );
    await app.stop();

    const secrets = { token, 'token signature': token.split('.')[2]!, tampered, password };
    const leaks = app.logs.flatMap((line) =>
      Object.entries(secrets)
        .filter(([, secret]) => line.text.includes(secret))
        .map(([what]) => `${what} in: ${line.text.slice(0, 300)}`),
    );
    expect(leaks).toEqual([]);
    // Trace really logged: the search had something to search.
    expect(app.logs.length).toBeGreaterThan(50);
    console.info(`log secrets: ${app.logs.length} lines at trace, none with the token, its signature, a tampered token or the password`);
  });
});
