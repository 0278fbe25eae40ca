import { request } from 'node:http';

/**
 * One HTTP request on a fresh connection from a chosen loopback address (127.0.0.2, 127.0.0.3…).
 * On Linux all of 127.0.0.0/8 is this machine, so tests can play several real clients, each with
 * an address of its own, with no network at all.
 */
export function requestFrom(
  localAddress: string,
  url: string,
  options: { method?: string; headers?: Record<string, string>; json?: unknown } = {},
): Promise<{ status: number; body: string }> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        localAddress,
        agent: false,
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...options.headers },
        timeout: 10_000,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    outgoing.on('error', reject);
    outgoing.on('timeout', () => outgoing.destroy(new Error(`request to ${url} timed out`)));
    outgoing.end(body);
  });
}

/** A random public-looking IPv4 address, as a client forging X-Forwarded-For would send. */
export const randomAddress = () => Array.from({ length: 4 }, () => 1 + Math.floor(Math.random() * 223)).join('.');
