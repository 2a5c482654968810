/** What machines post to the metadata service: reporting events and hardware facts. */
import { describe, expect, it } from 'vitest';
import { issuedToken, metadataRequest, readJson } from '../testing/index.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';

// Installer logs ride in the body: allow more than the default test limit.
const s = useMachineApiScenario({ maxBodyBytes: 1 << 20 });

async function deploy(id = s.mine.id): Promise<string> {
  const res = await s.call('POST', `/api/v1/machines/${id}/deploy`, {
    as: 'alice',
    json: { os: 'debian', release: 'bookworm' },
  });
  expect(res.status).toBe(202);
  return issuedToken(s.f, s.rack.id, id);
}

const post = (token: string, path: string, body: unknown): Promise<Response> =>
  metadataRequest(s.api, path, token, { body });

describe('POST status/<machine_id>', () => {
  it('records start, success, warning and progress as step events', async () => {
    const token = await deploy();
    const path = `status/${s.mine.id}`;
    const base = { origin: 'ingot-installer', name: 'install.image', timestamp: 1764200000.5 };
    expect(
      (await post(token, path, { ...base, event_type: 'start', description: 'x' })).status,
    ).toBe(204);
    expect(
      (
        await post(token, path, {
          ...base,
          event_type: 'finish',
          result: 'WARN',
          description: 'slow mirror',
          progress: { done: 512, total: 1024 },
        })
      ).status,
    ).toBe(204);
    await post(token, path, {
      ...base,
      event_type: 'finish',
      result: 'SUCCESS',
      description: 'ok',
    });
    const steps = (await s.f.store.listEvents({ machineId: s.mine.id })).filter(
      (e) => e.step === 'install.image',
    );
    expect(steps).toMatchObject([
      {
        kind: 'step',
        result: 'started',
        actor: `machine:${s.mine.id}`,
        occurredAtMs: 1764200000500,
      },
      {
        result: 'info',
        message: 'slow mirror',
        data: {
          origin: 'ingot-installer',
          event_type: 'finish',
          bytes_done: 512,
          bytes_total: 1024,
        },
      },
      { result: 'succeeded' },
    ]);
    const machine = await s.f.store.getMachine(s.mine.id);
    expect(machine).toMatchObject({
      status: 'deploying',
      lastStep: { step: 'install.image', result: 'succeeded' },
    });
  });

  it('FAIL while deploying → failed_deployment with the step and a redacted log tail', async () => {
    const token = await deploy();
    const log = `${'x'.repeat(6000)}\nBOOT_IMAGE=vmlinuz ingot.token=${token}\nsecret ${token.split(':')[2] ?? ''}\ndd: /dev/vda: No space left on device\n`;
    const res = await post(token, `status/${s.mine.id}`, {
      event_type: 'finish',
      origin: 'ingot-installer',
      name: 'install.image',
      description: 'writing the root image failed',
      result: 'FAIL',
      files: [
        { path: 'installer.log', encoding: 'base64', content: Buffer.from(log).toString('base64') },
      ],
    });
    expect(res.status).toBe(204);
    const machine = await s.f.store.getMachine(s.mine.id);
    expect(machine).toMatchObject({
      status: 'failed_deployment',
      statusMessage: 'install.image failed: writing the root image failed',
    });
    const events = await s.f.store.listEvents({ machineId: s.mine.id });
    const [step, failed] = events.slice(-2);
    expect(step).toMatchObject({ kind: 'step', step: 'install.image', result: 'failed' });
    expect(failed).toMatchObject({
      kind: 'transition',
      step: 'deploy_failed',
      toStatus: 'failed_deployment',
      data: { step: 'install.image' },
    });
    const tail = String(failed?.data.log_tail);
    expect(tail.length).toBeLessThanOrEqual(4096);
    expect(tail).toContain('No space left on device');
    expect(tail).toContain('ingot.token=<redacted>');
    expect(JSON.stringify(events)).not.toContain(token.split(':')[2]);
    // Through the API as its owner sees it.
    const api = await readJson<{ status: string; status_message: string }>(
      await s.call('GET', `/api/v1/machines/${s.mine.id}`, { as: 'alice' }),
    );
    expect(api).toMatchObject({ status: 'failed_deployment' });
  });

  it("the initramfs's boot.squashfs FAIL ends the deploy (a rack's abandoned transfer of that name does not)", async () => {
    const token = await deploy();
    const res = await post(token, `status/${s.mine.id}`, {
      event_type: 'finish',
      origin: 'ingot-initramfs',
      name: 'boot.squashfs',
      description: 'fetching the root squashfs failed 7 times',
      result: 'FAIL',
    });
    expect(res.status).toBe(204);
    expect(await s.f.store.getMachine(s.mine.id)).toMatchObject({
      status: 'failed_deployment',
      statusMessage: 'boot.squashfs failed: fetching the root squashfs failed 7 times',
    });
  });

  it('install.reboot finished → the machine boots its disk next; the token keeps working', async () => {
    const token = await deploy();
    const res = await post(token, `status/${s.mine.id}`, {
      origin: 'ingot-installer',
      name: 'install.reboot',
      event_type: 'finish',
      result: 'SUCCESS',
      description: 'rebooting into the installed system',
    });
    expect(res.status).toBe(204);
    expect(await s.f.store.getMachine(s.mine.id)).toMatchObject({
      status: 'deploying',
      bootPurpose: 'local',
    });
    // The local plan replaced the unsent install plan.
    const pending = await s.f.store.pendingRackCommands(s.rack.id);
    expect(pending.map((c) => c.body).filter((b) => b.kind === 'boot-plan')).toMatchObject([
      { kind: 'boot-plan', purpose: 'local', files: [] },
    ]);
    // The installed OS still needs the token for cloud-init.
    expect((await metadataRequest(s.api, 'latest/meta-data/instance-id', token)).status).toBe(200);
  });

  it("403s machine A's token on machine B's path, and records nothing", async () => {
    const tokenA = await deploy();
    const other = await s.f.allocatedMachine(s.alice, { hostname: 'alice-2' });
    await deploy(other.id);
    const before = await s.f.store.listEvents({});
    const res = await post(tokenA, `status/${other.id}`, {
      event_type: 'finish',
      name: 'install.image',
      result: 'FAIL',
    });
    expect(res.status).toBe(403);
    expect(await s.f.store.listEvents({})).toEqual(before);
    expect((await s.f.store.getMachine(other.id))?.status).toBe('deploying');
  });

  it('an erase success ends a release with erase; its token was issued for the erase', async () => {
    const deployToken = await deploy();
    await metadataRequest(s.api, 'latest/user-data', deployToken);
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/release`, {
      as: 'alice',
      json: { erase: 'quick' },
    });
    expect(res.status).toBe(200);
    const eraseToken = await issuedToken(s.f, s.rack.id, s.mine.id);
    expect(eraseToken).not.toBe(deployToken);
    const config = await readJson(
      await metadataRequest(s.api, 'latest/install-config', eraseToken),
    );
    expect(config).toMatchObject({ purpose: 'erase', erase: 'quick' });
    const done = await post(eraseToken, `status/${s.mine.id}`, {
      event_type: 'finish',
      name: 'erase',
      description: 'wiped /dev/vda',
      result: 'SUCCESS',
    });
    expect(done.status).toBe(204);
    expect((await s.f.store.getMachine(s.mine.id))?.status).toBe('ready');
    expect((await metadataRequest(s.api, 'latest/meta-data/instance-id', eraseToken)).status).toBe(
      401,
    );
  });

  it('refuses bodies that are not reporting events', async () => {
    const token = await deploy();
    for (const body of [{ name: 'x' }, { event_type: 'middle', name: 'x' }, 'not json']) {
      expect((await post(token, `status/${s.mine.id}`, body)).status).toBe(400);
    }
  });
});

describe('POST commissioning', () => {
  it('records the facts, disks and NICs, and makes the machine ready', async () => {
    const m = await s.f.createMachine({ hostname: 'new-1', commission: true, cpuCount: 0 });
    const commissioning = await s.f.machines.act(s.f.admin.actor, m.id, 'commission', {
      message: 'go',
    });
    expect(commissioning.ok).toBe(true);
    const token = await issuedToken(s.f, s.rack.id, m.id);
    const facts = {
      cpu_count: 2,
      memory_mib: 2048,
      disks: [
        { name: 'vda', size_bytes: 10 * 2 ** 30, model: 'QEMU HARDDISK', serial: 'QM1' },
        { name: 'vdb', size_bytes: 2 ** 30 + 5, model: '', serial: '' },
      ],
      nics: [{ name: 'eth0', mac: '52:54:00:12:34:56' }],
    };
    const res = await post(token, 'latest/commissioning', facts);
    expect(res.status).toBe(200);
    expect(await s.f.store.getMachine(m.id)).toMatchObject({
      status: 'ready',
      cpuCount: 2,
      memoryMib: 2048,
      storageGib: 11,
    });
    expect(await s.f.store.getMachineHardware(m.id)).toMatchObject({
      disks: [
        { name: 'vda', sizeBytes: 10 * 2 ** 30, model: 'QEMU HARDDISK', serial: 'QM1' },
        { name: 'vdb', sizeBytes: 2 ** 30 + 5 },
      ],
      nics: [{ name: 'eth0', mac: '52:54:00:12:34:56' }],
    });
    // Ready: the commissioning token is no longer good.
    expect((await post(token, 'latest/commissioning', facts)).status).toBe(401);
  });

  it('is refused (409) from a deploying machine and changes nothing', async () => {
    const token = await deploy();
    const res = await post(token, 'latest/commissioning', {
      cpu_count: 1,
      memory_mib: 1,
      disks: [],
      nics: [],
    });
    expect(res.status).toBe(409);
    expect((await s.f.store.getMachine(s.mine.id))?.status).toBe('deploying');
    expect(await s.f.store.getMachineHardware(s.mine.id)).toBeUndefined();
  });
});
