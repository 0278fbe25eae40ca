/**
 * The STOMP frame as the codec hands it over (STOMP 1.2 "STOMP Frames", "Repeated Header Entries",
 * "Augmented BNF").
 *
 * Invariants:
 * - `headers` keeps every header line in wire order, already unescaped; repeated names are kept,
 *   and lookups return the FIRST occurrence, as the spec says only the first is to be used.
 * - Commands and header names are case sensitive.
 * - `body` is a Buffer owned by the frame (never a view into a caller's chunk).
 */

export type StompHeader = [name: string, value: string];

export interface StompFrame {
  command: string;
  headers: StompHeader[];
  body: Buffer;
}

export const CLIENT_COMMANDS = [
  'CONNECT',
  'STOMP',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'ACK',
  'NACK',
  'DISCONNECT',
] as const;

export const SERVER_COMMANDS = ['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR'] as const;

export type ClientCommand = (typeof CLIENT_COMMANDS)[number];
export type ServerCommand = (typeof SERVER_COMMANDS)[number];
export type StompCommand = ClientCommand | ServerCommand;

/** STOMP 1.2 "Body": only these frames may carry a body; all others MUST NOT. */
const BODY_COMMANDS: ReadonlySet<string> = new Set(['SEND', 'MESSAGE', 'ERROR']);

export function commandAllowsBody(command: string): boolean {
  return BODY_COMMANDS.has(command);
}

/** The first value of a header, or undefined: a repeated header's later values are history only. */
export function header(frame: Pick<StompFrame, 'headers'>, name: string): string | undefined {
  for (const [headerName, value] of frame.headers) {
    if (headerName === name) return value;
  }
  return undefined;
}

/**
 * Like `header`, but ignoring ASCII case of the name. STOMP names are case sensitive; this exists
 * for headers borrowed from HTTP, such as `Authorization`, that clients spell either way.
 */
export function headerIgnoringCase(frame: Pick<StompFrame, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [headerName, value] of frame.headers) {
    if (headerName.toLowerCase() === wanted) return value;
  }
  return undefined;
}
