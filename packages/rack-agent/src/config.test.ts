import { describe, expect, it } from 'vitest';
import {
  defaultAgentConfig,
  orderedHttpUrls,
  parseHostPort,
  splitAddressList,
  validateAgentConfig,
} from './config.ts';

describe('agent config', () => {
  it('fills defaults', () => {
    const config = defaultAgentConfig({ controllers: ['ctl:5250'], dataDir: '/var/lib/ingot' });
    expect(config).toMatchObject({
      http: { host: '0.0.0.0', port: 5248 },
      reconnect: { initialMs: 200, maxMs: 5000 },
      interfaces: [],
      logLevel: 'info',
    });
    expect(validateAgentConfig(config).ok).toBe(true);
  });

  it.each([
    ['no controllers', { controllers: [] }, 'controllers'],
    ['bad controller', { controllers: ['ctl:99999'] }, 'controllers'],
    ['bad backoff', { reconnect: { initialMs: 10, maxMs: 5 } }, 'reconnect'],
    ['empty token', { enrollmentToken: '' }, 'enrollmentToken'],
  ] as const)('refuses %s', (_name, override, field) => {
    const config = { ...defaultAgentConfig({ controllers: ['c:1'], dataDir: '/d' }), ...override };
    expect(validateAgentConfig(config)).toMatchObject({ ok: false, error: { field } });
  });

  it.each([
    ['0.0.0.0:5248', undefined, { host: '0.0.0.0', port: 5248 }],
    ['[::1]:80', undefined, { host: '::1', port: 80 }],
    ['ctl', 5250, { host: 'ctl', port: 5250 }],
  ] as const)('parses %s', (text, defaultPort, expected) => {
    expect(parseHostPort(text, defaultPort)).toEqual({ ok: true, value: expected });
  });

  it('refuses an address without port when there is no default', () => {
    expect(parseHostPort('ctl').ok).toBe(false);
  });

  it('splits controller lists and pairs HTTP URLs with them', () => {
    expect(splitAddressList(['a:1,b:2', ' c:3 ', 'a:1', ''])).toEqual(['a:1', 'b:2', 'c:3']);
    const config = defaultAgentConfig({ controllers: ['a:5250', 'b:5250'], dataDir: '/d' });
    expect(config.controllerHttpUrls).toEqual(['http://a:5240', 'http://b:5240']);
    expect(config.insecureGrpc).toBe(false);
    expect(orderedHttpUrls(config, 'b:5250')).toEqual(['http://b:5240', 'http://a:5240']);
    expect(orderedHttpUrls(config, undefined)).toEqual(['http://a:5240', 'http://b:5240']);
    const single = defaultAgentConfig({
      controllers: ['a:5250', 'b:5250'],
      dataDir: '/d',
      controllerHttpUrl: 'http://lb:80',
    });
    expect(orderedHttpUrls(single, 'b:5250')).toEqual(['http://lb:80']);
    expect(validateAgentConfig({ ...single, controllerHttpUrls: ['ftp://x'] }).ok).toBe(false);
  });
});
