import { describe, expect, it } from 'vitest';
import { StompProtocolError, isStompProtocolError, stompErrorCatalogue, type StompErrorCode } from '../../../src/stomp/errors.js';

describe('StompProtocolError', () => {
  it('carries its code and defaults its message to the catalogue entry', () => {
    for (const code of Object.keys(stompErrorCatalogue) as StompErrorCode[]) {
      const error = new StompProtocolError(code);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(error.name).toBe('StompProtocolError');
      expect(error.message).toBe(stompErrorCatalogue[code]);
      expect(isStompProtocolError(error)).toBe(true);
    }
  });

  it('keeps every catalogue message short and on one line, fit for an ERROR message header', () => {
    for (const message of Object.values(stompErrorCatalogue)) {
      expect(message.length).toBeLessThanOrEqual(80);
      expect(message).not.toMatch(/[\r\n:]/);
    }
  });

  it('is not confused with other errors', () => {
    expect(isStompProtocolError(new Error('x'))).toBe(false);
  });
});
