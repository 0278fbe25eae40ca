import { describe, expect, it } from 'vitest';
import { ConfigError, durationToSeconds, loadConfig } from '../../src/config.js';

const secret = 'x'.repeat(32);

describe('loadConfig', () => {
  it('should apply the defaults of the spec', () => {
    const config = loadConfig({ JWT_SECRET: secret });
    expect(config).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/chat',
      REDIS_URL: 'redis://127.0.0.1:6379',
      KAFKA_BROKERS: ['127.0.0.1:29092'],
      JWT_EXPIRES_IN: '24h',
      RATE_LIMIT_MESSAGES_PER_SECOND: 10,
      AUTH_RATE_LIMIT_PER_MINUTE: 30,
      KAFKA_TOPIC_PREFIX: '',
      CORS_ORIGINS: [],
      SHUTDOWN_TIMEOUT_MS: 30000,
    });
  });

  it('should name every failing variable at once', () => {
    try {
      loadConfig({ JWT_SECRET: 'short', PORT: 'eighty', REDIS_URL: 'http://nope', KAFKA_BROKERS: 'no-port' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      for (const name of ['JWT_SECRET', 'PORT', 'REDIS_URL', 'KAFKA_BROKERS']) expect(message).toContain(name);
    }
  });

  it('should require JWT_SECRET', () => {
    expect(() => loadConfig({})).toThrow(/JWT_SECRET/);
  });

  it('should split lists', () => {
    const config = loadConfig({ JWT_SECRET: secret, KAFKA_BROKERS: 'a:1, b:2', CORS_ORIGINS: 'https://x.example,https://y.example' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.CORS_ORIGINS).toEqual(['https://x.example', 'https://y.example']);
  });

  it('should read durations', () => {
    expect(durationToSeconds('24h')).toBe(86400);
    expect(durationToSeconds('15m')).toBe(900);
    expect(durationToSeconds('90')).toBe(90);
  });
});
