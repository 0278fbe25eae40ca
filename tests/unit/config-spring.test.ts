import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { applySpringVariables } from '../../src/config-spring.js';

const secret = 'x'.repeat(32);

describe("the Spring version's deployment variables", () => {
  it('should build the URLs from DB_HOST, DB_PORT, REDIS_HOST, REDIS_PORT and KAFKA_BOOTSTRAP_SERVERS, database chat', () => {
    const config = loadConfig({
      JWT_SECRET: secret,
      DB_HOST: 'postgres',
      DB_PORT: '5433',
      REDIS_HOST: 'redis',
      REDIS_PORT: '6380',
      KAFKA_BOOTSTRAP_SERVERS: 'kafka:9092, kafka-2:9092',
    });
    // The account the Spring version's application.yml carried, which its Compose file creates.
    expect(config.DATABASE_URL).toBe('postgres://chat:chat1234@postgres:5433/chat');
    expect(config.REDIS_URL).toBe('redis://redis:6380');
    expect(config.KAFKA_BROKERS).toEqual(['kafka:9092', 'kafka-2:9092']);
  });

  it('should take DB_USERNAME, DB_PASSWORD and REDIS_PASSWORD, percent-encoded, and the renamed ones', () => {
    const config = loadConfig({
      JWT_SECRET: secret,
      DB_HOST: 'db',
      DB_USERNAME: 'app',
      DB_PASSWORD: 'p@ss:w/rd',
      REDIS_PASSWORD: 's3cr#t',
      SERVER_PORT: '9000',
      CHAT_ALLOWED_ORIGINS: 'http://localhost:5173,http://localhost:4173',
      CHAT_KAFKA_RETRY_ATTEMPTS: '5',
      CHAT_KAFKA_RETRY_BACKOFF_MS: '250',
    });
    expect(config.DATABASE_URL).toBe('postgres://app:p%40ss%3Aw%2Frd@db:5432/chat');
    expect(decodeURIComponent(new URL(config.DATABASE_URL).password)).toBe('p@ss:w/rd');
    expect(config.REDIS_URL).toBe('redis://:s3cr%23t@127.0.0.1:6379');
    expect(config).toMatchObject({
      PORT: 9000,
      CORS_ORIGINS: ['http://localhost:5173', 'http://localhost:4173'],
      CONSUMER_RETRY_ATTEMPTS: 5,
      CONSUMER_RETRY_BACKOFF_MS: 250,
    });
  });

  it("should fill the parts left unset with this service's defaults and put an IPv6 address in brackets", () => {
    expect(loadConfig({ JWT_SECRET: secret, DB_PORT: '15432' }).DATABASE_URL).toBe('postgres://chat:chat1234@127.0.0.1:15432/chat');
    expect(loadConfig({ JWT_SECRET: secret, REDIS_HOST: '::1' }).REDIS_URL).toBe('redis://[::1]:6379');
  });

  it('should let the URLs win when both are set, and report each disagreement without values', () => {
    const env = {
      JWT_SECRET: secret,
      DATABASE_URL: 'postgres://app:hunter2@db-a:5432/chat',
      DB_HOST: 'db-b',
      DB_PASSWORD: 'other-secret',
      REDIS_URL: 'redis://cache:6379',
      REDIS_HOST: 'cache',
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      KAFKA_BOOTSTRAP_SERVERS: 'k3:9092',
      PORT: '8080',
      SERVER_PORT: '8081',
    };
    const config = loadConfig(env);
    expect(config).toMatchObject({
      DATABASE_URL: env.DATABASE_URL,
      REDIS_URL: env.REDIS_URL,
      KAFKA_BROKERS: ['k1:9092', 'k2:9092'],
      PORT: 8080,
    });
    const { conflicts } = applySpringVariables(env);
    expect(conflicts).toEqual([
      'DATABASE_URL is used; DB_HOST, DB_PASSWORD describe another server or account and are ignored',
      'KAFKA_BROKERS is used; KAFKA_BOOTSTRAP_SERVERS names other brokers and is ignored',
      'PORT is used; SERVER_PORT says otherwise and is ignored',
    ]);
    expect(conflicts.join('\n')).not.toMatch(/hunter2|other-secret|db-a|db-b|k3/);
  });

  it('should report nothing when both are set and agree', () => {
    const env = {
      DATABASE_URL: 'postgres://chat:chat1234@db:5432/chat',
      DB_HOST: 'db',
      DB_PORT: '5432',
      REDIS_URL: 'redis://cache',
      REDIS_PORT: '6379',
      KAFKA_BROKERS: 'b:1,a:2',
      KAFKA_BOOTSTRAP_SERVERS: 'a:2, b:1',
    };
    expect(applySpringVariables(env).conflicts).toEqual([]);
  });

  it('should name a bad DB_PORT, REDIS_PORT or DB_HOST in the configuration error, with the other failures', () => {
    try {
      loadConfig({ DB_PORT: '5432x', REDIS_PORT: '70000', DB_HOST: 'a/b' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      for (const name of ['DB_HOST', 'REDIS_PORT', 'JWT_SECRET']) expect(message).toContain(name);
    }
    expect(() => loadConfig({ JWT_SECRET: secret, DB_PORT: '0' })).toThrow(/DB_PORT: expected a port number/);
  });

  it('should change nothing when none of them is set', () => {
    expect(loadConfig({ JWT_SECRET: secret })).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/chat',
      REDIS_URL: 'redis://127.0.0.1:6379',
      KAFKA_BROKERS: ['127.0.0.1:29092'],
    });
  });
});
