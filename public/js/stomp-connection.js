/**
 * The live connection: a STOMP.js client (the bundle index.html loads as the global `StompJs`)
 * to /ws on this page's host. This module knows STOMP, not chat: what the frames mean is decided by
 * the callbacks.
 *
 * - Heart-beats of 10 s both ways, run from a Web Worker: browsers throttle timers in background
 *   tabs, and the server drops a client silent for twice the interval.
 * - Reconnects by itself: 1 s after a drop, doubling up to 15 s.
 * - Asks `token()` before every attempt and sends it in the CONNECT headers, so a reconnect never
 *   presents a token that a newer login replaced; when there is none it stops and calls
 *   `onTokenMissing` instead of retrying forever.
 */
const HEARTBEAT_MS = 10_000;
const RECONNECT_DELAY_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 15_000;
const CONNECTION_TIMEOUT_MS = 10_000;

/**
 * @param {object} options
 * @param {() => string | null} options.token the bearer token for the next attempt, or null to stop
 * @param {() => void} options.onTokenMissing after `token()` gave nothing and the client stopped
 * @param {() => void} options.onConnected after every CONNECTED
 * @param {() => void} options.onClosed after every lost or refused socket; a reconnect follows
 * @param {(message: string) => void} options.onError an ERROR frame, with its `message` header
 */
export function createStompConnection({ token, onTokenMissing, onConnected, onClosed, onError }) {
  const { Client, ReconnectionTimeMode, TickerStrategy } = window.StompJs;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const client = new Client({
    brokerURL: `${scheme}://${location.host}/ws`,
    heartbeatIncoming: HEARTBEAT_MS,
    heartbeatOutgoing: HEARTBEAT_MS,
    heartbeatStrategy: TickerStrategy.Worker,
    reconnectDelay: RECONNECT_DELAY_MS,
    reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
    maxReconnectDelay: MAX_RECONNECT_DELAY_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    beforeConnect: async (stomp) => {
      const bearer = token();
      if (!bearer) {
        await stomp.deactivate();
        onTokenMissing();
        return;
      }
      stomp.connectHeaders = { Authorization: `Bearer ${bearer}` };
    },
    onConnect: () => onConnected(),
    onWebSocketClose: () => onClosed(),
    onStompError: (frame) => onError(frame.headers.message ?? 'The server refused the connection'),
    debug: () => {},
  });

  /** A `receipt` header gets `onReceipt` called once the server's RECEIPT for it arrives. */
  function withReceipt(headers, receipt, onReceipt) {
    if (!receipt) return headers;
    if (onReceipt) client.watchForReceipt(receipt, onReceipt);
    return { ...headers, receipt };
  }

  return {
    start() {
      client.activate();
    },
    stop() {
      return client.deactivate();
    },
    /** Returns the STOMP.js subscription (`unsubscribe()`). */
    subscribe(destination, onFrame, { receipt, onReceipt, headers = {} } = {}) {
      return client.subscribe(destination, onFrame, withReceipt(headers, receipt, onReceipt));
    },
    /** Sends `body` as JSON. */
    publish(destination, body, { receipt, onReceipt, headers = {} } = {}) {
      client.publish({
        destination,
        headers: withReceipt({ ...headers, 'content-type': 'application/json' }, receipt, onReceipt),
        body: JSON.stringify(body),
      });
    },
  };
}
