import { describe, expect, it } from 'vitest';
import { decodeHeaderText, encodeHeaderText, headerEscaping } from '../../../src/stomp/escaping.js';
import { StompProtocolError } from '../../../src/stomp/errors.js';

describe('header escaping', () => {
  it.each([
    ['\\r', '\r'],
    ['\\n', '\n'],
    ['\\c', ':'],
    ['\\\\', '\\'],
    ['a\\cb\\nc\\rd\\\\e', 'a:b\nc\rd\\e'],
    ['\\\\n', '\\n'],
    ['\\\\\\n', '\\\n'],
    ['plain', 'plain'],
    ['', ''],
  ])('decodes %j as %j in 1.2', (raw, decoded) => {
    expect(decodeHeaderText(raw, '1.2')).toBe(decoded);
  });

  const undefinedEscapes = ['\\t', '\\', 'abc\\', '\\C', '\\x41', '\\ ', '\\0', 'a\\\\\\'];

  it.each(undefinedEscapes)('rejects the undefined escape in %j', (raw) => {
    expect(() => decodeHeaderText(raw, '1.2')).toThrow(StompProtocolError);
    expect(() => decodeHeaderText(raw, '1.2')).toThrow(expect.objectContaining({ code: 'bad-escape' }));
  });

  it('rejects \\r in 1.1, which defines only \\n, \\c and \\\\', () => {
    expect(decodeHeaderText('a\\nb\\cc\\\\', '1.1')).toBe('a\nb:c\\');
    expect(() => decodeHeaderText('\\r', '1.1')).toThrow(expect.objectContaining({ code: 'bad-escape' }));
  });

  it('leaves text untouched when the mode is none', () => {
    expect(decodeHeaderText('a\\tb\\', 'none')).toBe('a\\tb\\');
  });

  it('encodes CR, LF, colon and backslash in 1.2', () => {
    expect(encodeHeaderText('a:b\nc\rd\\e', '1.2')).toBe('a\\cb\\nc\\rd\\\\e');
  });

  it('round-trips every special character and a literal backslash-n in 1.2 and 1.1', () => {
    const samples = ['\\n', 'x:y', 'line\nbreak', '\\\\', 'trailing\\', ':\n:\\', 'ünïcødé 😀'];
    for (const text of samples) {
      expect(decodeHeaderText(encodeHeaderText(text, '1.2'), '1.2')).toBe(text);
      expect(decodeHeaderText(encodeHeaderText(text, '1.1'), '1.1')).toBe(text);
    }
    expect(encodeHeaderText('\\n', '1.2')).toBe('\\\\n');
  });

  it('never emits a raw CR or LF where the mode cannot escape it', () => {
    expect(encodeHeaderText('a\r\nb:c', 'none')).toBe('a  b:c');
    expect(encodeHeaderText('a\rb', '1.1')).toBe('a b');
  });

  it('chooses no escaping for CONNECT, STOMP and CONNECTED and for 1.0 sessions', () => {
    expect(headerEscaping('1.2', 'CONNECT')).toBe('none');
    expect(headerEscaping('1.2', 'STOMP')).toBe('none');
    expect(headerEscaping('1.2', 'CONNECTED')).toBe('none');
    expect(headerEscaping('1.0', 'SEND')).toBe('none');
    expect(headerEscaping('1.1', 'MESSAGE')).toBe('1.1');
    expect(headerEscaping('1.2', 'MESSAGE')).toBe('1.2');
  });
});
