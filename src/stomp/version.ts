/**
 * Protocol version negotiation (STOMP 1.2 "Protocol Negotiation") and the WebSocket subprotocol
 * names that carry a version (`v10.stomp`, `v11.stomp`, `v12.stomp`).
 *
 * Invariants:
 * - A CONNECT without `accept-version` speaks 1.0; otherwise the session uses the highest version
 *   both sides list. No common version is a fatal 'unsupported-version' error.
 * - Versions this server does not know (e.g. "2.0") are ignored, never an error by themselves.
 */
import { StompProtocolError, preview } from './errors.js';

export const STOMP_VERSIONS = ['1.0', '1.1', '1.2'] as const;
export type StompVersion = (typeof STOMP_VERSIONS)[number];

/** Highest first: the order in which we prefer versions and subprotocols. */
const PREFERENCE: readonly StompVersion[] = ['1.2', '1.1', '1.0'];

const SUBPROTOCOL_VERSIONS: Readonly<Record<string, StompVersion>> = {
  'v12.stomp': '1.2',
  'v11.stomp': '1.1',
  'v10.stomp': '1.0',
};

/** The subprotocols the /ws endpoint accepts, most preferred first. */
export const STOMP_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'] as const;

export function isStompVersion(value: string): value is StompVersion {
  return (STOMP_VERSIONS as readonly string[]).includes(value);
}

/**
 * Picks the session version from a CONNECT frame's `accept-version` header.
 * Items are trimmed because the list is ours to interpret, not a header value to pass on.
 */
export function negotiateVersion(acceptVersion: string | undefined, supported: readonly StompVersion[] = STOMP_VERSIONS): StompVersion {
  const offered = acceptVersion === undefined ? ['1.0'] : acceptVersion.split(',').map((item) => item.trim());
  for (const version of PREFERENCE) {
    if (supported.includes(version) && offered.includes(version)) return version;
  }
  throw new StompProtocolError(
    'unsupported-version',
    `no common protocol version: client accepts ${preview(acceptVersion ?? '1.0')}, ` + `server supports ${supported.join(',')}`,
  );
}

/** `v12.stomp` → '1.2'; anything else → undefined. */
export function versionFromSubprotocol(subprotocol: string): StompVersion | undefined {
  return Object.hasOwn(SUBPROTOCOL_VERSIONS, subprotocol) ? SUBPROTOCOL_VERSIONS[subprotocol] : undefined;
}

/**
 * Chooses the subprotocol to answer a WebSocket handshake with: our most preferred one the client
 * offered, or undefined when it offered none of ours (the handshake may still proceed without one,
 * as plain `new WebSocket(url)` clients send no subprotocol at all).
 */
export function selectSubprotocol(offered: Iterable<string>): string | undefined {
  const offeredSet = new Set(offered);
  return STOMP_SUBPROTOCOLS.find((subprotocol) => offeredSet.has(subprotocol));
}
