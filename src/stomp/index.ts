// The STOMP codec's public surface: pure, no I/O. The session layer lives in src/realtime.
export {
  CLIENT_COMMANDS,
  SERVER_COMMANDS,
  commandAllowsBody,
  header,
  headerIgnoringCase,
  type ClientCommand,
  type ServerCommand,
  type StompCommand,
  type StompFrame,
  type StompHeader,
} from './frame.js';
export { StompProtocolError, isStompProtocolError, preview, stompErrorCatalogue, type StompErrorCode } from './errors.js';
export { decodeHeaderText, encodeHeaderText, headerEscaping, type HeaderEscaping } from './escaping.js';
export { DEFAULT_PARSER_LIMITS, StompParser, createStompParser, type StompParserLimits, type StompParserOptions } from './parser.js';
export { serializeFrame, serializeMessage, type HeaderInput, type MessageFields, type SerializeOptions } from './serializer.js';
export {
  HEARTBEAT_EOL,
  formatHeartbeat,
  negotiateHeartbeat,
  parseHeartbeat,
  type HeartbeatNegotiationOptions,
  type HeartbeatSpec,
  type NegotiatedHeartbeat,
} from './heartbeat.js';
export {
  STOMP_SUBPROTOCOLS,
  STOMP_VERSIONS,
  isStompVersion,
  negotiateVersion,
  selectSubprotocol,
  versionFromSubprotocol,
  type StompVersion,
} from './version.js';
