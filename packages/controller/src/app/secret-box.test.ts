import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServiceFixture, type ServiceFixture } from '../testing/service-fixture.ts';
import {
  createSecretBox,
  generateSecretKey,
  isSealedParams,
  openPowerParams,
  sealPowerParams,
} from './secret-box.ts';

const PASSWORD = 'S3cr3t-BMC-pass';

describe('secret box', () => {
  const box = createSecretBox(generateSecretKey());

  it('round-trips text in a v1 envelope with a fresh IV each time', () => {
    const a = box.seal(PASSWORD);
    const b = box.seal(PASSWORD);
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(PASSWORD);
    expect(box.open(a)).toBe(PASSWORD);
    expect(box.open(box.seal(''))).toBe('');
  });

  it('refuses another key, a changed byte and a malformed envelope', () => {
    const sealed = box.seal(PASSWORD);
    expect(() => createSecretBox(generateSecretKey()).open(sealed)).toThrow();
    const [v, iv, tag, ct] = sealed.split(':');
    const flipped = Buffer.from(ct ?? '', 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => box.open([v, iv, tag, flipped.toString('base64')].join(':'))).toThrow();
    expect(() => box.open('v2:a:b:c')).toThrow(/not a sealed secret/);
    expect(() => box.open('plain')).toThrow(/not a sealed secret/);
  });

  it('needs a 32-byte key', () => {
    expect(() => createSecretBox(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('seals power parameters as one field and opens them; unsealed ones pass through', () => {
    const params = { address: '10.0.0.9', username: 'admin', password: PASSWORD };
    const sealed = sealPowerParams(box, params);
    expect(Object.keys(sealed)).toEqual(['sealed']);
    expect(isSealedParams(sealed)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain(PASSWORD);
    expect(openPowerParams(box, sealed)).toEqual(params);
    expect(isSealedParams(params)).toBe(false);
    expect(openPowerParams(box, params)).toBe(params);
    expect(isSealedParams({ sealed: 'not-an-envelope' })).toBe(false);
  });
});

describe('power parameters in the machine service', () => {
  let f: ServiceFixture;
  beforeEach(async () => {
    f = await createServiceFixture();
  });
  afterEach(() => f.close());

  const power = { type: 'ipmi', params: { address: '10.0.0.9', password: PASSWORD } };

  it('stores them sealed on create and PATCH, and queues them sealed in power commands', async () => {
    const { rack } = await f.enrollRack();
    const m = await f.createMachine({ power });
    expect(JSON.stringify(await f.store.getMachine(m.id))).not.toContain(PASSWORD);
    expect(openPowerParams(f.secrets, m.power?.params ?? {})).toEqual(power.params);

    const patched = await f.machines.update(f.admin.actor, m.id, {
      power: { type: 'redfish', params: { host: 'bmc', password: `${PASSWORD}-2` } },
    });
    expect(patched.ok).toBe(true);
    const stored = await f.store.getMachine(m.id);
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
    expect(stored?.power?.type).toBe('redfish');
    expect(openPowerParams(f.secrets, stored?.power?.params ?? {})).toEqual({
      host: 'bmc',
      password: `${PASSWORD}-2`,
    });
    // The PATCH audit event names the field, never its value.
    const events = await f.store.listEvents({ machineId: m.id });
    expect(events.at(-1)?.message).toBe('Updated power');
    expect(JSON.stringify(events)).not.toContain(PASSWORD);

    expect((await f.machines.power(f.admin.actor, m.id, 'cycle')).ok).toBe(true);
    const commands = await f.store.pendingRackCommands(rack.id);
    expect(JSON.stringify(commands)).not.toContain(PASSWORD);
    const body = commands.at(-1)?.body;
    expect(body?.kind === 'power' && openPowerParams(f.secrets, body.params)).toEqual({
      host: 'bmc',
      password: `${PASSWORD}-2`,
    });
  });

  it('seals parameters stored in plaintext before encryption, once', async () => {
    const m = await f.createMachine();
    await f.store.updateMachine(m.id, m.version, { power }, f.clock.now());
    expect(JSON.stringify(await f.store.getMachine(m.id))).toContain(PASSWORD);
    expect(await f.machines.sealStoredPowerParams()).toBe(1);
    const stored = await f.store.getMachine(m.id);
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
    expect(openPowerParams(f.secrets, stored?.power?.params ?? {})).toEqual(power.params);
    expect(await f.machines.sealStoredPowerParams()).toBe(0);
  });
});
