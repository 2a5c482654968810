/**
 * Issue 6, the web UI in a real browser (headless Debian Chromium through playwright-core)
 * against a controller, a rack agent and a QEMU lab VM: sign in with a password set by
 * `ingot users set-password`, find the machine in the table, allocate and deploy it in memory
 * from its page and watch the timeline reach `deployed` live with no page load, release it, and
 * deploy it to disk with a failing customisation command: the timeline shows the bytes written
 * and the failing step with its log tail. Screenshots go to test/artifacts/ui/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from './harness/api.ts';
import { useDeploySite, type DeploySite, type LabMachine } from './harness/deploy-lab.ts';
import { ensureUiBuilt, openUiBrowser, type UiBrowser } from './harness/ui-browser.ts';
import {
  deployInMemoryLive,
  failingDiskDeploy,
  machineStatus,
  openMachine,
  pageErrors,
  prepareUiLab,
  rackRow,
  releaseFromForm,
  shownStatus,
  signIn,
} from './harness/ui-scenario.ts';

const PASSWORD = 'lab-operator-password';

describe('the web UI drives a lab deploy', () => {
  let site: DeploySite;
  let vm: LabMachine;
  let ui: UiBrowser;
  const log = (m: string): void => console.log(m);
  beforeAll(() => {
    ensureUiBuilt(log);
  });
  useDeploySite(
    { images: ['tiny'], prepare: (s, first) => prepareUiLab(s, first, PASSWORD, log) },
    (s, m) => {
      site = s;
      vm = m;
    },
  );
  beforeAll(async () => {
    ui = await openUiBrowser(`${site.controller.url}/`);
  }, 120_000);
  afterAll(async () => {
    // Undefined when beforeAll failed part-way; closed before the site (hooks run as a stack).
    await (ui as UiBrowser | undefined)?.close();
  }, 120_000);

  it('signs in with the password and finds the machine in the table', async () => {
    await signIn(ui, 'ops', PASSWORD);
    await openMachine(ui, vm);
    expect(await shownStatus(ui)).toBe('ready');
    expect(ui.page.url()).toBe(`${site.controller.url}/machines/${vm.machineId}`);
    await ui.screenshot('01-machine-ready');
  }, 120_000);

  it('allocates and deploys in memory from the page; the timeline reaches deployed with no reload', async () => {
    const out = await deployInMemoryLive(ui, site, vm);
    console.log(
      `ui: deployed in memory via the browser in ${out.seconds.toFixed(1)} s\n${out.steps.join('\n')}`,
    );
    expect(out).toMatchObject({ status: 'deployed', outcome: 'succeeded' });
    expect(out.steps[0]).toBe('status:succeeded');
    expect(out.steps).toContain('power.on:succeeded');
    expect(out.steps).toContain('dhcp.ack:succeeded');
    expect(out.steps.at(-1)).toBe('status:succeeded');
    expect(await shownStatus(ui)).toBe('deployed');
  }, 400_000);

  it('releases from the page', async () => {
    await releaseFromForm(ui, 'none');
    expect(await machineStatus(site, vm)).toBe('ready');
  }, 400_000);

  it('a failing disk deploy shows the image written, the failing step and its log tail', async () => {
    const { outcome, image, customise } = await failingDiskDeploy(ui);
    expect(outcome).toMatchObject({ status: 'failed_deployment', outcome: 'failed' });
    expect(image.state).toBe('succeeded');
    expect(image.progress).toMatch(/ of .*\(100%\)/);
    expect(customise.state).toBe('failed');
    expect(customise.logTail).toContain('about-to-fail');
    expect(await ui.page.getByTestId('status-message').innerText()).toContain('install.customise');
  }, 500_000);

  it('shows the rack with the controller holding its session', async () => {
    const racks =
      await site.get<{ id: string; controller: { name: string } | null }[]>('/api/v1/racks');
    const [rack] = racks;
    expect(rack?.controller?.name ?? '').not.toBe('');
    expect(await rackRow(ui, rack?.id ?? '')).toEqual({
      status: 'healthy',
      controller: rack?.controller?.name,
    });
    await ui.screenshot('05-racks');
  }, 60_000);

  it('signs out: the session key stops working', async () => {
    const key = String(
      await ui.page.evaluate("JSON.parse(sessionStorage.getItem('ingot.session')).key"),
    );
    expect((await api(site.controller.url, key, 'GET', '/api/v1/users/me')).status).toBe(200);
    await ui.page.getByRole('button', { name: 'Sign out' }).click();
    await ui.page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 30_000 });
    expect((await api(site.controller.url, key, 'GET', '/api/v1/users/me')).status).toBe(401);
    expect(pageErrors(ui)).toEqual([]);
  }, 60_000);
});
