// What `npm run dev` prints once the server listens: where everything is and how to stop it.

/** Where Docker Compose publishes Kafka UI (docker-compose.yml); the local stack has none. */
export const COMPOSE_KAFKA_UI_URL = 'http://localhost:8090';

/** The first `Server listening at http://host:port` line of the server's log, as a browser URL. */
export function listeningUrl(line: string): string | undefined {
  let message: unknown;
  try {
    message = (JSON.parse(line) as { msg?: unknown }).msg;
  } catch {
    return undefined;
  }
  const match = typeof message === 'string' ? /^Server listening at https?:\/\/[^/]+:(\d+)$/.exec(message) : null;
  return match ? `http://localhost:${match[1]}` : undefined;
}

export function devBanner(options: { baseUrl: string; kafkaUiUrl?: string; prettyLogs: boolean }): string {
  const { baseUrl } = options;
  const rows: [string, string][] = [
    ['chat page', `${baseUrl}/`],
    ['API docs', `${baseUrl}/docs`],
    ['health', `${baseUrl}/actuator/health`],
    ['STOMP', `${baseUrl.replace(/^http/, 'ws')}/ws`],
    ['Kafka UI', options.kafkaUiUrl ?? 'not running (Docker Compose starts one on :8090; see docs/operations.md)'],
    ['logs', options.prettyLogs ? 'pretty-printed here; JSON when stdout is not a terminal' : 'JSON lines (stdout is not a terminal)'],
    ['stop', 'Ctrl-C once for a graceful stop; again to force it'],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['', 'chat-backend is running (development)', ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`), ''].join(
    '\n',
  );
}

/** Kafka UI answers only when Compose runs it; any HTTP answer within half a second counts. */
export async function findKafkaUi(url = COMPOSE_KAFKA_UI_URL): Promise<string | undefined> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(500), redirect: 'manual' });
    return url;
  } catch {
    return undefined;
  }
}
