/** Reporting events with a client-chosen `id`: a resent report is stored once per machine. */
import { describe, expect, it } from 'vitest';
import { issuedToken, metadataRequest, readJson } from '../testing/index.ts';
import { useMachineApiScenario } from '../testing/use-machine-api-scenario.ts';

const s = useMachineApiScenario();

async function deploy(id: string, as: 'alice' | 'bob' = 'alice'): Promise<string> {
  const res = await s.call('POST', `/api/v1/machines/${id}/deploy`, {
    as,
    json: { os: 'debian', release: 'bookworm' },
  });
  expect(res.status).toBe(202);
  return issuedToken(s.f, s.rack.id, id);
}

const report = (token: string, machineId: string, body: Record<string, unknown>) =>
  metadataRequest(s.api, `status/${machineId}`, token, {
    body: { origin: 'ingot-installer', description: 'd', ...body },
  });

const stepsOf = async (machineId: string, step: string) =>
  (await s.f.store.listEvents({ machineId })).filter((e) => e.step === step);

describe('POST status/<machine_id> with a report id', () => {
  it('stores a report sent twice with one id once, and answers both the same', async () => {
    const token = await deploy(s.mine.id);
    const body = { id: 'r-1', event_type: 'start', name: 'install.storage' };
    expect((await report(token, s.mine.id, body)).status).toBe(204);
    const published = s.f.bus.published.length;
    expect((await report(token, s.mine.id, body)).status).toBe(204);
    const steps = await stepsOf(s.mine.id, 'install.storage');
    expect(steps).toHaveLength(1);
    expect(steps[0]?.data.report_id).toBe('r-1');
    // Nothing new was published either (the UI and websockets would show a second step).
    expect(s.f.bus.published.length).toBe(published);
    // A new id is a new report.
    expect((await report(token, s.mine.id, { ...body, id: 'r-2' })).status).toBe(204);
    expect(await stepsOf(s.mine.id, 'install.storage')).toHaveLength(2);
  });

  it('a resent report that moves the machine makes one step and one transition', async () => {
    const token = await deploy(s.mine.id);
    const body = {
      id: '5b0c7c1e-8d7f-4d0a-9f57-6a8a3b0e2c11',
      event_type: 'finish',
      name: 'install.reboot',
      result: 'SUCCESS',
    };
    expect((await report(token, s.mine.id, body)).status).toBe(204);
    const version = (await s.f.store.getMachine(s.mine.id))?.version;
    const commands = (await s.f.store.pendingRackCommands(s.rack.id)).length;
    expect((await report(token, s.mine.id, body)).status).toBe(204);
    expect(await s.f.store.getMachine(s.mine.id)).toMatchObject({ bootPurpose: 'local', version });
    expect(await s.f.store.pendingRackCommands(s.rack.id)).toHaveLength(commands);
    const events = await s.f.store.listEvents({ machineId: s.mine.id });
    expect(events.filter((e) => e.step === 'install.reboot')).toHaveLength(1);
    const caused = events.filter((e) => e.kind === 'transition' && e.data.cause !== undefined);
    expect(caused.map((e) => e.data.step)).toEqual(['install.reboot']);
  });

  it('a resent FAIL is refused once the failure ended the token, and stores nothing', async () => {
    const token = await deploy(s.mine.id);
    const body = { id: 'f-1', event_type: 'finish', name: 'install.image', result: 'FAIL' };
    expect((await report(token, s.mine.id, body)).status).toBe(204);
    expect((await report(token, s.mine.id, body)).status).toBe(401);
    const events = await s.f.store.listEvents({ machineId: s.mine.id });
    expect(events.filter((e) => e.step === 'install.image')).toHaveLength(1);
    expect(events.filter((e) => e.step === 'deploy_failed')).toHaveLength(1);
  });

  it('stores concurrent copies of one report once', async () => {
    const token = await deploy(s.mine.id);
    const body = { id: 'same', event_type: 'finish', name: 'install.image', result: 'SUCCESS' };
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => report(token, s.mine.id, body)),
    );
    expect(answers.map((r) => r.status)).toEqual([204, 204, 204, 204, 204, 204]);
    expect(await stepsOf(s.mine.id, 'install.image')).toHaveLength(1);
  });

  it("one machine's id does not suppress another machine's report", async () => {
    const mine = await deploy(s.mine.id);
    const other = await s.f.allocatedMachine(s.bob);
    const theirs = await deploy(other.id, 'bob');
    const body = { id: 'r-1', event_type: 'start', name: 'install.storage' };
    expect((await report(mine, s.mine.id, body)).status).toBe(204);
    expect((await report(theirs, other.id, body)).status).toBe(204);
    expect(await stepsOf(s.mine.id, 'install.storage')).toHaveLength(1);
    expect(await stepsOf(other.id, 'install.storage')).toHaveLength(1);
  });

  it('without an id every report is stored, as before', async () => {
    const token = await deploy(s.mine.id);
    const body = { event_type: 'start', name: 'install.storage' };
    await report(token, s.mine.id, body);
    await report(token, s.mine.id, body);
    const steps = await stepsOf(s.mine.id, 'install.storage');
    expect(steps).toHaveLength(2);
    expect(steps[0]?.data).not.toHaveProperty('report_id');
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['not a string', 42],
  ])('refuses an id that is %s with a 400 naming the field', async (_case, id) => {
    const token = await deploy(s.mine.id);
    const res = await report(token, s.mine.id, { id, event_type: 'start', name: 'x' });
    expect(res.status).toBe(400);
    const p = await readJson<{ detail: string }>(res);
    expect(p.detail).toMatch(/^id: /);
    expect(await stepsOf(s.mine.id, 'x')).toHaveLength(0);
  });

  it('accepts an id of 128 characters', async () => {
    const token = await deploy(s.mine.id);
    const id = `${'a'.repeat(120)}:._-0123`;
    expect((await report(token, s.mine.id, { id, event_type: 'start', name: 'x' })).status).toBe(
      204,
    );
  });
});
