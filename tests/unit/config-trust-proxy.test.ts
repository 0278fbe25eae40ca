import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const trust = (value?: string) => loadConfig({ JWT_SECRET: 'x'.repeat(32), TRUST_PROXY: value }).TRUST_PROXY;

describe('TRUST_PROXY', () => {
  it('should trust no proxy by default', () => {
    expect(trust()).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
  });

  it('should take true, a hop count, or a list of addresses and CIDR blocks', () => {
    expect(trust('true')).toBe(true);
    expect(trust('2')).toBe(2);
    expect(trust('127.0.0.1')).toEqual(['127.0.0.1']);
    expect(trust(' 10.0.0.0/8, 172.28.0.10 ,::1, fd00::/8,loopback')).toEqual(['10.0.0.0/8', '172.28.0.10', '::1', 'fd00::/8', 'loopback']);
  });

  it('should refuse anything else, naming the entries it cannot read', () => {
    for (const bad of ['nginx', '10.0.0.0/33', '127.0.0.1/8/1', '::1/129', 'yes']) {
      expect(() => trust(bad)).toThrow(ConfigError);
    }
    expect(() => trust('127.0.0.1,proxy.local')).toThrow(/TRUST_PROXY: .*proxy\.local/);
  });
});
