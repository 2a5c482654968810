/** The deploy body's customisation and the release body's erase, through the HTTP API. */
import { describe, expect, it } from 'vitest';
import { rackStep, readJson, snapshotStore } from '../testing/index.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';

const s = useMachineApiScenario();

describe('deploy with customisation', () => {
  it('stores packages, commands and files with the deployment', async () => {
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, {
      as: 'alice',
      json: {
        os: 'debian',
        release: 'bookworm',
        customisation: {
          packages: ['htop'],
          commands: ['echo hi > /etc/motd'],
          files: [{ path: '/etc/ingot-note', content_base64: 'aGk=' }],
        },
      },
    });
    expect(res.status).toBe(202);
    expect((await s.f.store.getMachine(s.mine.id))?.deployment?.customisation).toEqual({
      packages: ['htop'],
      commands: ['echo hi > /etc/motd'],
      files: [{ path: '/etc/ingot-note', contentBase64: 'aGk=', mode: '0644' }],
    });
  });

  it.each([
    ['a relative file path', { files: [{ path: 'etc/x', content_base64: '' }] }],
    ['a .. segment', { files: [{ path: '/etc/../x', content_base64: '' }] }],
    ['content that is not base64', { files: [{ path: '/x', content_base64: '%%%' }] }],
    ['a mode that is not octal', { files: [{ path: '/x', content_base64: '', mode: '0999' }] }],
    ['a package name with a space', { packages: ['htop; rm -rf /'] }],
    ['an unknown field', { scripts: [] }],
  ])('refuses %s (400) and changes nothing', async (_, customisation) => {
    const before = await snapshotStore(s.f.store);
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, {
      as: 'alice',
      json: { customisation },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await snapshotStore(s.f.store)).toEqual(before);
  });
});

describe('release', () => {
  const deployed = async (): Promise<void> => {
    expect(
      (await s.call('POST', `/api/v1/machines/${s.mine.id}/deploy`, { as: 'alice', json: {} }))
        .status,
    ).toBe(202);
    await s.f.racks.recordEvents(s.rack.id, [rackStep(s.mine.id, 'deployed')]);
  };

  it('with erase boots the eraser and shows the erase on the machine', async () => {
    await deployed();
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/release`, {
      as: 'alice',
      json: { erase: 'quick', comment: 'done' },
    });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({
      status: 'releasing',
      boot_purpose: 'erase',
      deployment: { erase: 'quick' },
      status_message: 'Releasing with a quick disk erase: done',
    });
  });

  it('without a body releases as before', async () => {
    await deployed();
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/release`, { as: 'alice' });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ status: 'releasing', boot_purpose: 'local' });
  });

  it('refuses an unknown erase mode (400) and changes nothing', async () => {
    await deployed();
    const before = await snapshotStore(s.f.store);
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/release`, {
      as: 'alice',
      json: { erase: 'shred' },
    });
    expect(res.status).toBe(400);
    expect(await snapshotStore(s.f.store)).toEqual(before);
  });

  it("does not show another user's machine to them (404), and changes nothing", async () => {
    await deployed();
    const res = await s.call('POST', `/api/v1/machines/${s.mine.id}/release`, {
      as: 'bob',
      json: { erase: 'full' },
    });
    expect(res.status).toBe(404);
    expect((await s.f.store.getMachine(s.mine.id))?.status).toBe('deployed');
  });
});
