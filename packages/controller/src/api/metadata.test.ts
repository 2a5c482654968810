/** The metadata service's read endpoints and its OAuth token checks, in process. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issuedToken, metadataRequest, oauthHeader, readJson } from '../testing/index.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';

const s = useMachineApiScenario();
const KEYS = join(import.meta.dirname, '..', 'domain', 'testdata', 'ssh-keys');
const ED25519 = readFileSync(join(KEYS, 'ed25519.pub'), 'utf8').trim();
const RSA = readFileSync(join(KEYS, 'rsa.pub'), 'utf8').trim();

/** Deploys alice's machine with `extra` deploy fields and returns the token its plan carries. */
async function deploy(extra: Record<string, unknown> = {}, id = s.mine.id): Promise<string> {
  const res = await s.call('POST', `/api/v1/machines/${id}/deploy`, {
    as: 'alice',
    json: { os: 'debian', release: 'bookworm', ...extra },
  });
  expect(res.status).toBe(202);
  return issuedToken(s.f, s.rack.id, id);
}

async function text(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  return res.text();
}

describe('metadata tokens', () => {
  it('come in MAAS form with the boot plan, and only a hash of the secret is stored', async () => {
    const token = await deploy();
    expect(token).toMatch(/^[A-Za-z0-9]{24}:[A-Za-z0-9]{24}:[A-Za-z0-9]{24}$/);
    const [consumerKey, tokenKey, secret = ''] = token.split(':');
    const stored = await s.f.store.getMetadataToken(tokenKey ?? '');
    expect(stored).toMatchObject({ machineId: s.mine.id, consumerKey });
    expect(JSON.stringify(stored)).not.toContain(secret);
    // Nor in any event.
    expect(JSON.stringify(await s.f.store.listEvents({}))).not.toContain(secret);
  });
});

describe('GET /MAAS/metadata', () => {
  it('lists the versions without authentication', async () => {
    for (const path of ['/MAAS/metadata', '/MAAS/metadata/']) {
      const res = await s.api.request(path);
      expect(await text(res)).toBe('2012-03-01\nlatest\n');
    }
  });

  it('answers the meta-data keys cloud-init reads, for both versions', async () => {
    for (const key of [ED25519, RSA]) {
      s.f.clock.advance(1);
      expect(
        (await s.call('POST', '/api/v1/users/me/ssh-keys', { as: 'alice', json: { key } })).status,
      ).toBe(201);
    }
    // Bob's key is not alice's machine's.
    const bobKey = readFileSync(join(KEYS, 'ecdsa256.pub'), 'utf8').trim();
    await s.call('POST', '/api/v1/users/me/ssh-keys', { as: 'bob', json: { key: bobKey } });
    const token = await deploy();
    for (const v of ['2012-03-01', 'latest']) {
      expect(await text(await metadataRequest(s.api, `${v}/meta-data/`, token))).toBe(
        'instance-id\nlocal-hostname\npublic-keys\n',
      );
      expect(await text(await metadataRequest(s.api, `${v}/meta-data/instance-id`, token))).toBe(
        s.mine.id,
      );
      expect(await text(await metadataRequest(s.api, `${v}/meta-data/local-hostname`, token))).toBe(
        'alice-1',
      );
      expect(await text(await metadataRequest(s.api, `${v}/meta-data/public-keys`, token))).toBe(
        `${ED25519}\n${RSA}\n`,
      );
    }
  });

  it('404s unknown versions and keys', async () => {
    const token = await deploy();
    expect((await metadataRequest(s.api, '2009-04-04/meta-data/instance-id', token)).status).toBe(
      404,
    );
    expect((await metadataRequest(s.api, 'latest/meta-data/vendor-data', token)).status).toBe(404);
  });

  it('gives the install config with URLs through the agent the request came from', async () => {
    const token = await deploy({
      customisation: {
        packages: ['htop'],
        commands: ['echo hi > /etc/motd'],
        files: [{ path: '/etc/example', content_base64: 'aGk=', mode: '0600' }],
      },
    });
    await s.call('POST', '/api/v1/users/me/ssh-keys', { as: 'alice', json: { key: ED25519 } });
    const res = await metadataRequest(s.api, 'latest/install-config', token, {
      headers: { 'x-forwarded-host': '10.0.0.1:5248', host: 'controller:5240' },
    });
    expect(res.status).toBe(200);
    const config = await readJson(res);
    const image = (await s.f.images.list()).find((i) => i.os === 'debian');
    const root = image?.files.find((f) => f.role === 'root-image' || f.role === 'squashfs');
    expect(config).toMatchObject({
      machine_id: s.mine.id,
      hostname: 'alice-1',
      purpose: 'install',
      image: {
        os: 'debian',
        release: 'bookworm',
        arch: 'amd64',
        root_image: { path: `images/${root?.sha256 ?? ''}`, sha256: root?.sha256 },
      },
      storage: { disk: 'auto', layout: 'flat' },
      erase: 'none',
      cloud_init: { metadata_url: 'http://10.0.0.1:5248/MAAS/metadata/', token },
      ssh_keys: [ED25519],
      customisation: {
        packages: ['htop'],
        commands: ['echo hi > /etc/motd'],
        files: [{ path: '/etc/example', content_base64: 'aGk=', mode: '0600' }],
      },
    });
    // Straight to the controller (no proxy): the Host header.
    const direct = await metadataRequest(s.api, 'latest/install-config', token, {
      headers: { host: '127.0.0.1:5240' },
    });
    expect(await readJson(direct)).toMatchObject({
      cloud_init: { metadata_url: 'http://127.0.0.1:5240/MAAS/metadata/' },
    });
  });
});

describe('GET user-data', () => {
  it('returns the user data as given and marks a deploying machine deployed', async () => {
    const userData = '#cloud-config\nruncmd:\n  - [touch, /tmp/ingot]\n';
    const token = await deploy({ user_data: userData });
    const res = await metadataRequest(s.api, '2012-03-01/user-data', token);
    expect(await text(res)).toBe(userData);
    const machine = await s.f.store.getMachine(s.mine.id);
    expect(machine).toMatchObject({ status: 'deployed', statusMessage: 'Deployed' });
    const events = await s.f.store.listEvents({ machineId: s.mine.id });
    expect(events.slice(-2)).toMatchObject([
      { kind: 'step', step: 'cloudinit.user-data', actor: `machine:${s.mine.id}` },
      { kind: 'transition', step: 'deployed', fromStatus: 'deploying', toStatus: 'deployed' },
    ]);
    // Asked again from the deployed OS: the same bytes, no new transition.
    expect(await text(await metadataRequest(s.api, 'latest/user-data', token))).toBe(userData);
    expect(await s.f.store.listEvents({ machineId: s.mine.id })).toHaveLength(events.length);
  });

  it('is empty (200) when the deployment has none', async () => {
    const token = await deploy();
    expect(await text(await metadataRequest(s.api, 'latest/user-data', token))).toBe('');
  });
});

describe('authentication', () => {
  const unauthenticated = (res: Response): void => {
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('OAuth realm="ingot"');
  };

  it('refuses no header, an API key, a wrong signature and a wrong consumer key', async () => {
    const token = await deploy();
    const path = 'latest/meta-data/instance-id';
    unauthenticated(await metadataRequest(s.api, path, undefined));
    unauthenticated(
      await s.api.request(`/MAAS/metadata/${path}`, {
        headers: { authorization: `Bearer ${s.alice.apiKey}` },
      }),
    );
    for (const tamper of [{ secret: 'x'.repeat(24) }, { consumer: 'y'.repeat(24) }]) {
      unauthenticated(
        await s.api.request(`/MAAS/metadata/${path}`, {
          headers: { authorization: oauthHeader(token, tamper) },
        }),
      );
    }
    // And the API key middleware never sees metadata paths: no Bearer challenge.
    const res = await metadataRequest(s.api, path, undefined);
    expect(res.headers.get('www-authenticate')).not.toContain('Bearer');
  });

  it('stops working once the machine is released, and when a new token replaces it', async () => {
    const first = await deploy();
    await metadataRequest(s.api, 'latest/user-data', first);
    const path = 'latest/meta-data/instance-id';
    expect((await metadataRequest(s.api, path, first)).status).toBe(200);
    expect(
      (await s.call('POST', `/api/v1/machines/${s.mine.id}/release`, { as: 'alice', json: {} }))
        .status,
    ).toBe(200);
    // Releasing (no erase): the machine's OS has no business with the metadata service.
    unauthenticated(await metadataRequest(s.api, path, first));
    await s.f.machines.act(s.f.admin.actor, s.mine.id, 'released', { message: 'off' });
    expect((await s.f.store.getMachine(s.mine.id))?.status).toBe('ready');
    unauthenticated(await metadataRequest(s.api, path, first));

    const m = await s.f.machines.allocate(s.alice.actor, { name: s.mine.id });
    expect(m.ok).toBe(true);
    const second = await deploy();
    expect(second).not.toBe(first);
    unauthenticated(await metadataRequest(s.api, path, first));
    expect((await metadataRequest(s.api, path, second)).status).toBe(200);
  });
});
