import { describe, expect, it } from 'vitest';
import { devBanner, listeningUrl } from '../../scripts/dev-banner.js';

describe('npm run dev banner', () => {
  it('should name the page, the API docs, health, STOMP and how to stop', () => {
    const banner = devBanner({ baseUrl: 'http://localhost:8080', prettyLogs: true });
    for (const part of [
      'http://localhost:8080/',
      'http://localhost:8080/docs',
      'http://localhost:8080/actuator/health',
      'ws://localhost:8080/ws',
      'Ctrl-C',
    ]) {
      expect(banner).toContain(part);
    }
    expect(banner).toMatch(/Kafka UI\s+not running/);
  });

  it('should show Kafka UI when Compose runs it', () => {
    expect(devBanner({ baseUrl: 'http://localhost:8080', kafkaUiUrl: 'http://localhost:8090', prettyLogs: false })).toMatch(
      /Kafka UI\s+http:\/\/localhost:8090/,
    );
  });

  it("should find the address in Fastify's listening line and nowhere else", () => {
    expect(listeningUrl('{"level":30,"msg":"Server listening at http://127.0.0.1:43121"}')).toBe('http://localhost:43121');
    expect(listeningUrl('{"level":30,"msg":"incoming request"}')).toBeUndefined();
    expect(listeningUrl('Server listening at http://127.0.0.1:1')).toBeUndefined();
  });
});
