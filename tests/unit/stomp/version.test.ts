import { describe, expect, it } from 'vitest';
import { negotiateVersion, selectSubprotocol, versionFromSubprotocol } from '../../../src/stomp/version.js';

describe('negotiateVersion', () => {
  it.each([
    [undefined, '1.0'],
    ['1.0', '1.0'],
    ['1.1', '1.1'],
    ['1.2', '1.2'],
    ['1.2,1.1,1.0', '1.2'],
    ['1.0,1.1,2.0', '1.1'],
    ['1.1,1.0', '1.1'],
    ['1.0, 1.2', '1.2'],
  ])('accept-version %j → %s', (acceptVersion, version) => {
    expect(negotiateVersion(acceptVersion)).toBe(version);
  });

  it.each(['2.0', '', '1.3,2.1', 'v12.stomp'])('rejects accept-version %j with no common version', (acceptVersion) => {
    expect(() => negotiateVersion(acceptVersion)).toThrow(expect.objectContaining({ code: 'unsupported-version' }));
  });

  it('negotiates only among the versions the server supports', () => {
    expect(negotiateVersion('1.2,1.1', ['1.1'])).toBe('1.1');
    expect(() => negotiateVersion(undefined, ['1.2'])).toThrow(expect.objectContaining({ code: 'unsupported-version' }));
  });
});

describe('WebSocket subprotocols', () => {
  it('maps v10.stomp, v11.stomp and v12.stomp to versions', () => {
    expect(versionFromSubprotocol('v10.stomp')).toBe('1.0');
    expect(versionFromSubprotocol('v11.stomp')).toBe('1.1');
    expect(versionFromSubprotocol('v12.stomp')).toBe('1.2');
    expect(versionFromSubprotocol('stomp')).toBeUndefined();
    expect(versionFromSubprotocol('toString')).toBeUndefined();
  });

  it('selects the highest STOMP subprotocol the client offers, or none', () => {
    expect(selectSubprotocol(['v10.stomp', 'v11.stomp', 'v12.stomp'])).toBe('v12.stomp');
    expect(selectSubprotocol(new Set(['v11.stomp', 'mqtt']))).toBe('v11.stomp');
    expect(selectSubprotocol(['mqtt'])).toBeUndefined();
    expect(selectSubprotocol([])).toBeUndefined();
  });
});
