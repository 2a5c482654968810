import { describe, expect, it } from 'vitest';
import { canSetBootDevice } from '../power/driver.ts';
import { FakePowerDriver } from '../testing/fake-power-driver.ts';
import { createAgentMetrics, type AgentMetricsDeps } from './agent-metrics.ts';
import { instrumentImageSource, instrumentPowerDriver } from './instrument.ts';

function setup(overrides: Partial<AgentMetricsDeps> = {}) {
  return createAgentMetrics({
    outboxDepth: () => 3,
    sessionConnected: () => true,
    cacheInventory: () => ({
      files: [
        { sha256: 'a', sizeBytes: 1000, lastUsedMs: 0 },
        { sha256: 'b', sizeBytes: 24, lastUsedMs: 0 },
      ],
      capacityBytes: 4096,
    }),
    ...overrides,
  });
}

const context = {
  target: { machineId: 'm1', hostname: 'node-1' },
  signal: new AbortController().signal,
  pxeOnce: false,
};

describe('agent metrics', () => {
  it('renders DHCP, TFTP and HTTP boot counters in the text format, zero series included', async () => {
    const metrics = setup();
    metrics.dhcpRequest('discover');
    metrics.dhcpRequest('discover');
    metrics.dhcpRequest('request');
    metrics.dhcpRequest('undecodable');
    metrics.dhcpRequest('offer'); // a client never sends it: other
    metrics.dhcpReply('offer');
    metrics.tftpTransfer({ ok: true, bytes: 1468 });
    metrics.tftpTransfer({ ok: false, bytes: 512 });
    metrics.httpBootRequest(206);
    metrics.httpBootBytes(4096);
    const text = await metrics.render();
    expect(text).toContain(
      [
        '# HELP ingot_dhcp_requests_total DHCP messages received, by message type (undecodable: not a DHCP message).',
        '# TYPE ingot_dhcp_requests_total counter',
        'ingot_dhcp_requests_total{type="discover"} 2',
        'ingot_dhcp_requests_total{type="request"} 1',
        'ingot_dhcp_requests_total{type="decline"} 0',
        'ingot_dhcp_requests_total{type="release"} 0',
        'ingot_dhcp_requests_total{type="inform"} 0',
        'ingot_dhcp_requests_total{type="undecodable"} 1',
        'ingot_dhcp_requests_total{type="other"} 1',
        '',
      ].join('\n'),
    );
    expect(text).toContain('ingot_dhcp_replies_total{type="offer"} 1\n');
    expect(text).toContain(
      [
        '# TYPE ingot_tftp_requests_total counter',
        'ingot_tftp_requests_total{result="ok"} 1',
        'ingot_tftp_requests_total{result="failed"} 1',
      ].join('\n'),
    );
    expect(text).toContain('\ningot_tftp_bytes_total 1980\n');
    expect(text).toContain('ingot_http_boot_requests_total{status="206"} 1\n');
    expect(text).toContain('\ningot_http_boot_bytes_total 4096\n');
  });

  it('reads the cache, outbox and session gauges when scraped', async () => {
    let connected = true;
    const metrics = setup({ sessionConnected: () => connected });
    let text = await metrics.render();
    expect(text).toContain('\ningot_image_cache_bytes 1024\n');
    expect(text).toContain('\ningot_image_cache_files 2\n');
    expect(text).toContain('\ningot_image_cache_capacity_bytes 4096\n');
    expect(text).toContain('\ningot_outbox_events 3\n');
    expect(text).toContain('\ningot_controller_session_up 1\n');
    connected = false;
    text = await setup({
      cacheInventory: () => undefined,
      sessionConnected: () => connected,
    }).render();
    expect(text).toContain('\ningot_image_cache_bytes 0\n');
    expect(text).toContain('\ningot_controller_session_up 0\n');
  });

  it('counts every power driver call by driver, action and result, without changing it', async () => {
    const metrics = setup();
    const fake = new FakePowerDriver({ type: 'ipmi' });
    const driver = instrumentPowerDriver(fake, metrics);
    expect(canSetBootDevice(driver)).toBe(true);
    const params = { address: 'bmc', password: 'secret' };
    expect((await driver.on(params, context)).ok).toBe(true);
    fake.failNext({ kind: 'connection', message: 'no route' }, 'query');
    const failed = await driver.query(params, context);
    expect(failed).toEqual({ ok: false, error: { kind: 'connection', message: 'no route' } });
    if (canSetBootDevice(driver)) {
      await driver.setBootDevice(params, 'pxe', { persistent: false, uefi: false }, context);
    }
    expect(fake.calls.map((c) => c.action)).toEqual(['on', 'query', 'set-boot-device']);
    const text = await metrics.render();
    expect(text).toContain(
      'ingot_power_driver_calls_total{driver="ipmi",action="on",result="ok"} 1\n',
    );
    expect(text).toContain(
      'ingot_power_driver_calls_total{driver="ipmi",action="query",result="connection"} 1\n',
    );
    expect(text).toContain(
      'ingot_power_driver_calls_total{driver="ipmi",action="set_boot_device",result="ok"} 1\n',
    );
    // Commands are counted once each, however many driver calls they took.
    metrics.powerCommand('webhook', 'on', 'settings');
    expect(await metrics.render()).toContain(
      'ingot_power_commands_total{driver="webhook",action="on",result="settings"} 1\n',
    );
    const bare = instrumentPowerDriver(new FakePowerDriver({ withoutBootDevice: true }), metrics);
    expect(canSetBootDevice(bare)).toBe(false);
  });

  it('counts image lookups as cache hits and misses', async () => {
    const metrics = setup();
    const source = instrumentImageSource(
      {
        lookup: (sha) => Promise.resolve(sha === 'cached' ? '/cache/cached' : undefined),
        pinnedSize: () => undefined,
        ensure: () => Promise.resolve({ ok: false, error: { message: 'x' } }),
      },
      metrics,
    );
    expect(await source.lookup('cached')).toBe('/cache/cached');
    expect(await source.lookup('cached')).toBe('/cache/cached');
    expect(await source.lookup('missing')).toBeUndefined();
    const text = await metrics.render();
    expect(text).toContain('\ningot_image_cache_hits_total 2\n');
    expect(text).toContain('\ningot_image_cache_misses_total 1\n');
  });
});
