import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions, redactUrl } from '../../src/logger.js';

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl_-';

describe('redactUrl', () => {
  it('should hide the value of credential parameters and keep the rest', () => {
    expect(redactUrl('/ws?access_token=abc&x=1')).toBe('/ws?access_token=[redacted]&x=1');
    expect(redactUrl('/api?page=2&password=hunter2&TOKEN=t')).toBe('/api?page=2&password=[redacted]&TOKEN=[redacted]');
  });

  it('should recognise a parameter name however it is encoded', () => {
    expect(redactUrl('/ws?access%5Ftoken=abc')).toBe('/ws?access%5Ftoken=[redacted]');
  });

  it('should hide anything shaped like a JWT wherever it is in the URL', () => {
    expect(redactUrl(`/api/x/${jwt}?auth=Bearer%20${jwt}`)).toBe('/api/x/[redacted]?auth=Bearer%20[redacted]');
  });

  it('should leave a URL without secrets as it is', () => {
    expect(redactUrl('/api/rooms/3/messages?after=10&limit=50')).toBe('/api/rooms/3/messages?after=10&limit=50');
    expect(redactUrl('/ws?%E0%A4%A=1')).toBe('/ws?%E0%A4%A=1');
  });
});

describe('loggerOptions', () => {
  function capture() {
    const lines: string[] = [];
    const { stream: _stream, ...options } = loggerOptions('trace', 'test');
    const log = pino(options, { write: (line: string) => void lines.push(line) });
    return { log, lines };
  }

  it('should write no JWT in any line, whatever field or message carries it, also from child loggers', () => {
    const { log, lines } = capture();
    log.info({ detail: `Authorization: Bearer ${jwt}` }, 'header seen');
    log.child({ component: 'kafka' }).warn(`failed for ${jwt}`);
    log.error({ err: new Error(`bad token ${jwt}`) }, 'oops');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toContain(jwt);
    expect(lines.join('')).toContain('[redacted]');
  });

  it('should redact password and token fields', () => {
    const { log, lines } = capture();
    log.info({ body: { password: 'hunter2', email: 'a@b.c' }, token: 'opaque-token' }, 'login');
    expect(lines[0]).not.toContain('hunter2');
    expect(lines[0]).not.toContain('opaque-token');
    expect(lines[0]).toContain('a@b.c');
  });
});
