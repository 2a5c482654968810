import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type MachineJson } from './harness/api.ts';
import { freePort, waitFor } from './harness/processes.ts';
import { parsePrometheusText, sampleValue, type Family } from './harness/prometheus-text.ts';
import {
  DEPLOY_STEPS,
  createReadyMachine,
  createUser,
  reportStep,
  standInBytes,
  standInSha256,
  startSite,
  waitForStatus,
  waitForStep,
  type Site,
} from './harness/scenario.ts';

const run = promisify(execFile);
type Metrics = Map<string, Family>;

async function scrape(url: string): Promise<Metrics> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

/** How much a sample moved between two scrapes. */
function moved(before: Metrics, after: Metrics, name: string, labels?: Record<string, string>) {
  return sampleValue(after, name, labels) - sampleValue(before, name, labels);
}

/** A BOOTP/DHCP request (RFC 2131 §2): 236-byte header, magic cookie, option 53, end. */
function dhcpMessage(type: number, mac: number): Buffer {
  const m = Buffer.alloc(244);
  m[0] = 1; // op BOOTREQUEST
  m[1] = 1; // htype Ethernet
  m[2] = 6; // hlen
  randomBytes(4).copy(m, 4); // xid
  Buffer.from([0x52, 0x54, 0x00, 0xee, 0x00, mac]).copy(m, 28); // chaddr
  Buffer.from([99, 130, 83, 99]).copy(m, 236); // magic cookie
  Buffer.from([53, 1, type, 255]).copy(m, 240); // option 53, end
  return m;
}

async function curl(args: string[]): Promise<{ code: number; body: Buffer }> {
  try {
    const r = await run('curl', ['--silent', '--fail', '--max-time', '20', ...args], {
      encoding: 'buffer',
    });
    return { code: 0, body: r.stdout };
  } catch (e) {
    const f = e as { code: number; stdout: Buffer };
    return { code: f.code, body: f.stdout };
  }
}

/** The JSON `http request` lines a process wrote. */
function accessLog(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l['msg'] === 'http request');
}

async function deployTo(site: Site, key: string, index: number, requestId?: string) {
  const machine = await createReadyMachine(site, index);
  await api(site.controller.url, key, 'POST', '/api/v1/machines/allocate', {
    name: machine.hostname,
  });
  const res = await fetch(`${site.controller.url}/api/v1/machines/${machine.id}/deploy`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
    },
    body: '{}',
  });
  expect(res.status).toBe(202);
  await waitForStep(site, key, machine.id, 'power.on');
  return { machine, requestId: res.headers.get('x-request-id') };
}

describe('/metrics on a real controller and rack agent', () => {
  let site: Site;
  let key: string;
  let tftp: string;
  let dhcpPort: number;

  beforeAll(async () => {
    tftp = `127.0.0.1:${await freePort()}`;
    dhcpPort = await freePort();
    // The controller logs at info so its access log can be read; the agent serves DHCP on a
    // high port with no subnets configured, so it never answers (no traffic off loopback).
    site = await startSite(['--log-level', 'info'], {
      tftp,
      args: ['--dhcp', String(dhcpPort), '--log-level', 'info'],
    });
    key = await createUser(site, 'dana');
  });
  afterAll(async () => {
    await site.cleanup();
  });

  it('counts a deployment and a failing deployment from the steps the agent streams', async () => {
    const before = await scrape(site.controller.url);
    const agentBefore = await scrape(site.agent.url);
    expect(sampleValue(before, 'ingot_rack_sessions')).toBe(1);

    const good = await deployTo(site, key, 1, 'deploy-good-1');
    expect(good.requestId).toBe('deploy-good-1');
    for (const step of DEPLOY_STEPS) {
      if (step === 'install.image') await reportStep(site, good.machine.id, step, 'started');
      await reportStep(site, good.machine.id, step);
    }
    await reportStep(
      site,
      good.machine.id,
      'deployed',
      'succeeded',
      'cloud-init fetched user data',
    );
    await waitForStatus(site, key, good.machine.id, 'deployed');

    const bad = await deployTo(site, key, 2);
    await reportStep(site, bad.machine.id, 'install.storage', 'started');
    await reportStep(site, bad.machine.id, 'install.storage', 'failed', 'disk too small');
    await waitForStatus(site, key, bad.machine.id, 'failed_deployment');

    // Events reach the bus right after the status is stored: scrape until both outcomes show.
    const after = await waitFor('both deploy outcomes on /metrics', async () => {
      const m = await scrape(site.controller.url);
      return moved(before, m, 'ingot_deploys_total', { outcome: 'failed_deployment' }) > 0
        ? m
        : undefined;
    });
    expect(moved(before, after, 'ingot_deploys_started_total')).toBe(2);
    expect(moved(before, after, 'ingot_deploys_total', { outcome: 'deployed' })).toBe(1);
    expect(moved(before, after, 'ingot_deploys_total', { outcome: 'failed_deployment' })).toBe(1);
    expect(moved(before, after, 'ingot_deploys_total', { outcome: 'aborted' })).toBe(0);
    expect(
      moved(before, after, 'ingot_deploy_duration_seconds_count', { outcome: 'deployed' }),
    ).toBe(1);
    const step = (name: string, result: string) => ({ step: name, result });
    expect(
      moved(before, after, 'ingot_step_duration_seconds_count', step('install.image', 'succeeded')),
    ).toBe(1);
    expect(
      moved(before, after, 'ingot_step_duration_seconds_count', step('install.storage', 'failed')),
    ).toBe(1);
    expect(moved(before, after, 'ingot_steps_total', step('dhcp.ack', 'succeeded'))).toBe(1);
    expect(moved(before, after, 'ingot_steps_total', step('power.on', 'succeeded'))).toBe(2);
    expect(
      moved(before, after, 'ingot_machine_transitions_total', {
        from: 'deploying',
        to: 'deployed',
      }),
    ).toBe(1);
    expect(sampleValue(after, 'ingot_machines', { status: 'deployed' })).toBe(1);
    expect(sampleValue(after, 'ingot_machines', { status: 'failed_deployment' })).toBe(1);
    const deployRoute = {
      method: 'POST',
      route: '/api/v1/machines/:id/deploy',
      status: '202',
    };
    expect(moved(before, after, 'ingot_http_requests_total', deployRoute)).toBe(2);

    // The rack ran both power-on commands with the manual driver.
    const agentAfter = await scrape(site.agent.url);
    const manualOn = { driver: 'manual', action: 'on', result: 'ok' };
    expect(moved(agentBefore, agentAfter, 'ingot_power_commands_total', manualOn)).toBe(2);
    expect(sampleValue(agentAfter, 'ingot_controller_session_up')).toBe(1);

    // One JSON access-log line per request, carrying the request and machine ids.
    const access = accessLog(site.controller.output()).filter(
      (l) => l['request_id'] === 'deploy-good-1',
    );
    expect(access).toEqual([
      expect.objectContaining({
        level: 'info',
        method: 'POST',
        route: '/api/v1/machines/:id/deploy',
        status: 202,
        user: 'dana',
        machine_id: good.machine.id,
      }),
    ]);
  });

  it('counts DHCP messages, TFTP and HTTP boot requests and bytes, and image cache lookups', async () => {
    const { machine } = await deployTo(site, key, 3);
    const mac = '52:54:00:00:00:03';
    const kernel = standInSha256('ephemeral-vmlinuz');
    // The install plan's files are prefetched into the cache before a machine asks for them;
    // the rack reports its cache to the controller once the kernel is verified there.
    const { controller } = site;
    await waitFor('the kernel in the rack cache', async () => {
      const racks = await api<{ id: string }[]>(
        controller.url,
        controller.adminKey,
        'GET',
        '/api/v1/racks',
      );
      const id = racks.body[0]?.id ?? '';
      const rack = await api<{ image_cache: { files: { sha256: string }[] } | null }>(
        controller.url,
        controller.adminKey,
        'GET',
        `/api/v1/racks/${id}`,
      );
      return rack.body.image_cache?.files.some((f) => f.sha256 === kernel) === true
        ? true
        : undefined;
    });
    const before = await scrape(site.agent.url);

    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const send = (m: Buffer) =>
      new Promise<void>((r, j) =>
        socket.send(m, dhcpPort, '127.0.0.1', (e) => (e === null ? r() : j(e))),
      );
    try {
      await send(dhcpMessage(1, 1)); // DISCOVER
      await send(dhcpMessage(1, 2)); // DISCOVER
      await send(dhcpMessage(3, 1)); // REQUEST
      await send(Buffer.from('not a DHCP message'));
    } finally {
      socket.close();
    }

    const loader = readFileSync('/usr/lib/ipxe/undionly.kpxe');
    expect((await curl([`tftp://${tftp}/undionly.kpxe`])).body.length).toBe(loader.length);
    expect((await curl([`tftp://${tftp}/nosuchfile`])).code).not.toBe(0);

    const script = await curl([`${site.agent.url}/ipxe/script?mac=${mac}`]);
    const image = await curl([`${site.agent.url}/images/${kernel}?mac=${mac}`]);
    expect(image.body.equals(standInBytes('ephemeral-vmlinuz'))).toBe(true);
    const range = await curl(['--range', '0-99', `${site.agent.url}/undionly.kpxe`]);
    expect(range.body.length).toBe(100);
    expect((await curl([`${site.agent.url}/nosuchfile`])).code).not.toBe(0);
    expect((await curl([`${site.agent.url}/images/${'0'.repeat(64)}`])).code).not.toBe(0);

    const after = await waitFor('the DHCP datagrams on /metrics', async () => {
      const m = await scrape(site.agent.url);
      return moved(before, m, 'ingot_dhcp_requests_total', { type: 'undecodable' }) > 0
        ? m
        : undefined;
    });
    const dhcp = (type: string) => moved(before, after, 'ingot_dhcp_requests_total', { type });
    expect([dhcp('discover'), dhcp('request'), dhcp('undecodable')]).toEqual([2, 1, 1]);
    expect(moved(before, after, 'ingot_dhcp_replies_total')).toBe(0);

    const tftpResult = (result: string) =>
      moved(before, after, 'ingot_tftp_requests_total', { result });
    expect([tftpResult('ok'), tftpResult('failed')]).toEqual([1, 1]);
    expect(moved(before, after, 'ingot_tftp_bytes_total')).toBe(loader.length);

    const http = (status: string) =>
      moved(before, after, 'ingot_http_boot_requests_total', { status });
    expect([http('200'), http('206'), http('404')]).toEqual([2, 1, 2]);
    expect(moved(before, after, 'ingot_http_boot_bytes_total')).toBe(
      script.body.length + image.body.length + 100,
    );
    expect(moved(before, after, 'ingot_image_cache_hits_total')).toBe(1);
    expect(moved(before, after, 'ingot_image_cache_misses_total')).toBe(1);
    expect(sampleValue(after, 'ingot_image_cache_bytes')).toBeGreaterThan(0);
    expect(after.get('ingot_outbox_events')?.type).toBe('gauge');

    const m = await api<MachineJson>(
      site.controller.url,
      key,
      'GET',
      `/api/v1/machines/${machine.id}`,
    );
    expect(m.status).toBe(200);
  });

  it('counts a power command the BMC settings make fail, on both sides, by driver', async () => {
    const before = await scrape(site.controller.url);
    const agentBefore = await scrape(site.agent.url);
    // The webhook driver refuses parameters without a URL: a settings error, never retried.
    const machine = await createReadyMachine(site, 4, { power: { type: 'webhook', params: {} } });
    await api(site.controller.url, key, 'POST', '/api/v1/machines/allocate', {
      name: machine.hostname,
    });
    const r = await api(site.controller.url, key, 'POST', `/api/v1/machines/${machine.id}/deploy`);
    expect(r.status).toBe(202);
    await waitForStep(site, key, machine.id, 'power.on', 'failed');
    const webhookOn = { driver: 'webhook', action: 'on' };
    const after = await waitFor('the power failure on /metrics', async () => {
      const m = await scrape(site.controller.url);
      return moved(before, m, 'ingot_power_failures_total', webhookOn) > 0 ? m : undefined;
    });
    expect(moved(before, after, 'ingot_power_failures_total', webhookOn)).toBe(1);
    const agentAfter = await scrape(site.agent.url);
    expect(
      moved(agentBefore, agentAfter, 'ingot_power_commands_total', {
        ...webhookOn,
        result: 'settings',
      }),
    ).toBe(1);
  });

  it("logs a machine's metadata call under one request id on the agent and the controller", async () => {
    // No X-Request-Id from the machine: the agent makes one and the proxy passes it on.
    const path = '/MAAS/metadata/latest/meta-data/instance-id';
    const res = await fetch(`${site.agent.url}${path}`);
    expect(res.status).toBe(401);
    const id = res.headers.get('x-request-id') ?? '';
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const onAgent = await waitFor('the agent access-log line', () =>
      Promise.resolve(
        accessLog(site.agent.output()).find((l) => l['request_id'] === id && l['path'] === path),
      ),
    );
    expect(onAgent).toMatchObject({ level: 'info', method: 'GET', status: 401 });
    const onController = accessLog(site.controller.output()).filter((l) => l['request_id'] === id);
    expect(onController).toEqual([expect.objectContaining({ path, status: 401 })]);
  });

  it('serves expositions with HELP and TYPE for every family, and histograms with +Inf', async () => {
    for (const url of [site.controller.url, site.agent.url]) {
      const families = await scrape(url);
      expect(families.size).toBeGreaterThan(5);
      for (const family of families.values()) {
        expect(family.help, family.name).toBeDefined();
        expect(family.type, family.name).not.toBe('untyped');
      }
    }
    const controller = await scrape(site.controller.url);
    expect(controller.get('ingot_step_duration_seconds')?.type).toBe('histogram');
    expect(controller.get('ingot_http_request_duration_seconds')?.type).toBe('histogram');
  });
});

describe('the strict exposition parser', () => {
  const ok = [
    '# HELP a_total A \\\\ help\\nline.',
    '# TYPE a_total counter',
    'a_total{x="q\\"\\\\\\n",y="2"} 3 1700000000000',
    '# TYPE h histogram',
    'h_bucket{le="1"} 1',
    'h_bucket{le="+Inf"} 2',
    'h_sum 1.5e0',
    'h_count 2',
    '',
  ].join('\n');

  it('reads names, escapes, values and histograms', () => {
    const families = parsePrometheusText(ok);
    expect(families.get('a_total')?.help).toBe('A \\ help\nline.');
    expect(families.get('a_total')?.samples[0]?.labels).toEqual({ x: 'q"\\\n', y: '2' });
    expect(sampleValue(families, 'h_count')).toBe(2);
  });

  it.each([
    ['a bad label escape', ok.replace('\\"', '\\t')],
    ['a missing +Inf bucket', ok.replace('h_bucket{le="+Inf"} 2\n', '')],
    ['+Inf differing from _count', ok.replace('h_count 2', 'h_count 3')],
    ['buckets that are not cumulative', ok.replace('h_bucket{le="1"} 1', 'h_bucket{le="1"} 5')],
    ['a TYPE after samples', `${ok}# TYPE a_total counter\n`],
    ['interleaved families', `${ok}a_total{x="other"} 1\n`],
    ['a duplicate series', ok.replace('h_count 2\n', 'h_count 2\nh_count 2\n')],
    ['a bad value', ok.replace('h_sum 1.5e0', 'h_sum one')],
    ['an unterminated label value', ok.replace('y="2"}', 'y="2}')],
    ['no final newline', ok.trimEnd()],
  ])('refuses %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
