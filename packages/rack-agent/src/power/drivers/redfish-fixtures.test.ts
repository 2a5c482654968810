import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PowerActionContext } from '../driver.ts';
import { createRedfishPowerDriver, type RedfishPowerParams } from './redfish.ts';

/** One recorded reply (see testdata/redfish/README.md). */
interface FixtureRoute {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  requireIfMatch?: string;
}
interface Fixture {
  routes: Record<string, FixtureRoute>;
}
interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

const load = (name: string): Fixture =>
  JSON.parse(readFileSync(new URL(`testdata/redfish/${name}`, import.meta.url), 'utf8')) as Fixture;

const context = (): PowerActionContext => ({
  target: { machineId: 'm1', hostname: 'node1' },
  signal: new AbortController().signal,
  pxeOnce: false,
});

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** Serves `fixture` on plain HTTP (TLS is covered against the lab service) and logs requests. */
async function replay(fixture: Fixture): Promise<{ params: RedfishPowerParams; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body: unknown = text === '' ? undefined : JSON.parse(text);
      const path = req.url ?? '/';
      seen.push({ method: req.method ?? '', path, headers: req.headers, body });
      const key = `${req.method ?? ''} ${path}`;
      const resetType: unknown =
        typeof body === 'object' && body !== null ? Reflect.get(body, 'ResetType') : undefined;
      const route =
        (typeof resetType === 'string' ? fixture.routes[`${key}#${resetType}`] : undefined) ??
        fixture.routes[key];
      if (route === undefined) {
        res.writeHead(404).end();
        return;
      }
      if (route.requireIfMatch !== undefined && req.headers['if-match'] !== route.requireIfMatch) {
        res.writeHead(412, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ error: { code: 'Base.1.4.PreconditionFailed', message: 'ETag' } }),
        );
        return;
      }
      res.writeHead(route.status, { 'Content-Type': 'application/json', ...route.headers });
      res.end(route.body === undefined ? '' : JSON.stringify(route.body));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const parsed = createRedfishPowerDriver().parseParams({
    address: `http://127.0.0.1:${port}`,
    username: 'root',
    password: 'calvin-not-really',
  });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return { params: parsed.value, seen };
}

const writes = (seen: readonly Seen[]) =>
  seen.filter((s) => s.method !== 'GET').map((s) => [s.method, s.path, s.body]);

describe('redfish driver on an iDRAC9-shaped BMC (recorded fixture)', () => {
  it('discovers System.Embedded.1, logs in once, and leaves a running machine alone on "on"', async () => {
    const { params, seen } = await replay(load('dell-idrac9.json'));
    const driver = createRedfishPowerDriver();
    expect(await driver.query(params, context())).toEqual({ ok: true, value: 'on' });
    expect(await driver.on(params, context())).toMatchObject({ ok: true, value: { state: 'on' } });
    expect(writes(seen)).toEqual([
      [
        'POST',
        '/redfish/v1/SessionService/Sessions',
        { UserName: 'root', Password: 'calvin-not-really' },
      ],
    ]);
    const authed = seen.filter((s) => s.method === 'GET');
    expect(
      authed.every((s) => s.headers['x-auth-token'] === 'b1e6d5c1a0f44c1b9e8f7a6d5c4b3a21'),
    ).toBe(true);
    expect(authed.map((s) => s.path)).toEqual([
      '/redfish/v1/Systems',
      '/redfish/v1/Systems/System.Embedded.1',
      '/redfish/v1/Systems/System.Embedded.1',
    ]);
  });

  it('sends ForceRestart, ForceOff and a UEFI one-time PXE override as iDRAC expects', async () => {
    const { params, seen } = await replay(load('dell-idrac9.json'));
    const driver = createRedfishPowerDriver();
    expect((await driver.cycle(params, context())).ok).toBe(true);
    expect((await driver.off(params, context())).ok).toBe(true);
    const boot = await driver.setBootDevice(
      params,
      'pxe',
      { persistent: false, uefi: true },
      context(),
    );
    expect(boot).toEqual({ ok: true, value: undefined });
    const reset = '/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset';
    expect(writes(seen).slice(1)).toEqual([
      ['POST', reset, { ResetType: 'ForceRestart' }],
      ['POST', reset, { ResetType: 'ForceOff' }],
      [
        'PATCH',
        '/redfish/v1/Systems/System.Embedded.1',
        {
          Boot: {
            BootSourceOverrideEnabled: 'Once',
            BootSourceOverrideTarget: 'Pxe',
            BootSourceOverrideMode: 'UEFI',
          },
        },
      ],
    ]);
    expect(seen.at(-1)?.headers['if-match']).toBeUndefined();
  });

  it('turns a 409 on Reset into an action error carrying the BMC message', async () => {
    const fixture = load('dell-idrac9.json');
    const system = fixture.routes['GET /redfish/v1/Systems/System.Embedded.1']!;
    system.body = { ...(system.body as object), PowerState: 'Off' };
    const { params } = await replay(fixture);
    const result = await createRedfishPowerDriver().on(params, context());
    expect(result).toMatchObject({ ok: false, error: { kind: 'action' } });
    if (!result.ok) {
      expect(result.error.message).toContain('HTTP 409');
      expect(result.error.message).toContain('not found in the current state');
    }
  });
});

describe('redfish driver on an iLO 5-shaped BMC (recorded fixture)', () => {
  it('follows trailing-slash @odata.id and action targets and powers on', async () => {
    const { params, seen } = await replay(load('hpe-ilo5.json'));
    const driver = createRedfishPowerDriver();
    expect(await driver.query(params, context())).toEqual({ ok: true, value: 'off' });
    expect((await driver.on(params, context())).ok).toBe(true);
    expect(writes(seen).slice(1)).toEqual([
      ['POST', '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset/', { ResetType: 'On' }],
    ]);
  });

  it('sends If-Match with the ETag on PATCH, which iLO requires', async () => {
    const { params, seen } = await replay(load('hpe-ilo5.json'));
    const driver = createRedfishPowerDriver();
    const persistent = { persistent: true, uefi: false };
    expect(await driver.setBootDevice(params, 'pxe', persistent, context())).toEqual({
      ok: true,
      value: undefined,
    });
    const patch = seen.find((s) => s.method === 'PATCH');
    expect(patch?.headers['if-match']).toBe('W/"8E4B2C2A"');
    expect(patch?.body).toEqual({
      Boot: { BootSourceOverrideEnabled: 'Continuous', BootSourceOverrideTarget: 'Pxe' },
    });
  });

  it('reports a refused PATCH (412 without ETag) as an action error', async () => {
    const fixture = load('hpe-ilo5.json');
    delete fixture.routes['GET /redfish/v1/Systems/1/']!.headers;
    const { params } = await replay(fixture);
    const once = { persistent: false, uefi: false };
    const result = await createRedfishPowerDriver().setBootDevice(params, 'pxe', once, context());
    expect(result).toMatchObject({ ok: false, error: { kind: 'action' } });
  });
});
