/**
 * The web UI story in the virtual lab (issue 6): an operator signs in, finds the lab machine in
 * the machines table, allocates and deploys it from its page (in memory), and watches the
 * timeline reach `deployed` live — with no page load; then releases it, and deploys to disk with
 * a customisation command that fails: the timeline shows the image written (bytes) and the
 * failing step with its log tail. Every action goes through the browser. Shared by
 * `ui.netns.e2e.test.ts` and `pnpm e2e:ui`.
 */
import type { Page } from 'playwright-core';
import type { DeploySite, LabMachine } from './deploy-lab.ts';
import { commission } from './deploy-scenario.ts';
import { setPasswordWithCli, type UiBrowser } from './ui-browser.ts';

/** Where a deploy's timeline ended. */
export interface TimelineOutcome {
  readonly status: string;
  readonly outcome: string;
  /** `step:state` for each row, in order. */
  readonly steps: readonly string[];
  /** Seconds from "Start deployment" to the timeline's end. */
  readonly seconds: number;
}

const timeline = (page: Page) => page.locator('[data-testid=timeline]');

/** Signs in through the sign-in form; resolves when the machines table shows. */
export async function signIn(ui: UiBrowser, username: string, password: string): Promise<void> {
  const { page } = ui;
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('table', { name: 'Machines' }).waitFor({ timeout: 30_000 });
}

/** Finds the machine with the search box and opens its page from the table. */
export async function openMachine(ui: UiBrowser, vm: LabMachine): Promise<void> {
  const { page } = ui;
  await page.getByLabel('Search machines').fill(vm.name);
  const row = page.locator(`tr[data-machine="${vm.machineId}"]`);
  await row.waitFor({ timeout: 30_000 });
  await row.getByRole('link', { name: vm.name, exact: true }).click();
  await page.getByRole('heading', { name: new RegExp(vm.name) }).waitFor({ timeout: 30_000 });
}

/** The machine page's status badge. */
export async function shownStatus(ui: UiBrowser): Promise<string> {
  return (await ui.page.locator('.machine-head [data-status]').getAttribute('data-status')) ?? '';
}

/** Waits (bounded) until the page's status badge shows `status`. */
export async function waitForShownStatus(
  ui: UiBrowser,
  status: string,
  timeoutMs: number,
): Promise<void> {
  await ui.page.locator(`.machine-head [data-status="${status}"]`).waitFor({ timeout: timeoutMs });
}

/** Allocates from the machine page (the machine must be `ready`). */
export async function allocate(ui: UiBrowser): Promise<void> {
  await ui.page.getByRole('button', { name: 'Allocate', exact: true }).click();
  await waitForShownStatus(ui, 'allocated', 30_000);
}

/**
 * Fills the deploy form and starts the deployment, then waits for its timeline to end (deployed
 * or failed). `onRunning` runs once the timeline shows the deploy under way.
 */
export async function deployFromForm(
  ui: UiBrowser,
  options: {
    image: string;
    ephemeral?: boolean;
    userData?: string;
    commands?: string;
    timeoutMs: number;
    onRunning?: () => Promise<void>;
  },
): Promise<TimelineOutcome> {
  const { page } = ui;
  await page.getByRole('button', { name: 'Deploy…' }).click();
  const form = page.getByRole('form', { name: 'Deploy' });
  await form.getByLabel('Image (OS / release)').selectOption(options.image);
  if (options.ephemeral === true) await form.getByLabel(/Deploy in memory/).check();
  if (options.userData !== undefined) await form.getByLabel(/User data/).fill(options.userData);
  if (options.commands !== undefined)
    await form.getByLabel(/Commands to run/).fill(options.commands);
  const t0 = Date.now();
  await form.getByRole('button', { name: 'Start deployment' }).click();
  await page
    .locator('[data-testid=timeline][data-operation=deploying][data-outcome=running]')
    .waitFor({ timeout: 60_000 });
  await options.onRunning?.();
  const ended = page.locator(
    '[data-testid=timeline][data-operation=deploying]:is([data-outcome=succeeded], [data-outcome=failed])',
  );
  await ended.waitFor({ timeout: options.timeoutMs });
  const seconds = (Date.now() - t0) / 1000;
  const rows = page.locator('[data-testid=timeline] li.step');
  const steps: string[] = [];
  for (let i = 0, n = await rows.count(); i < n; i++) {
    const row = rows.nth(i);
    steps.push(
      `${(await row.getAttribute('data-step')) ?? ''}:${(await row.getAttribute('data-state')) ?? ''}`,
    );
  }
  return {
    status: (await timeline(page).getAttribute('data-status')) ?? '',
    outcome: (await timeline(page).getAttribute('data-outcome')) ?? '',
    steps,
    seconds,
  };
}

/** Releases from the machine page, with the erase choice, and waits for `ready`. */
export async function releaseFromForm(
  ui: UiBrowser,
  erase: 'none' | 'quick' | 'full',
): Promise<void> {
  const { page } = ui;
  await page.getByRole('button', { name: 'Release…' }).click();
  const form = page.getByRole('form', { name: 'Release' });
  await form.locator(`input[name=erase][value=${erase}]`).check();
  await form.getByRole('button', { name: 'Release machine' }).click();
  await waitForShownStatus(ui, 'ready', 300_000);
}

/** The text of the timeline row for `step` (its last one), and its log tail if shown. */
export async function timelineRow(
  ui: UiBrowser,
  step: string,
): Promise<{ state: string; text: string; logTail: string; progress: string }> {
  const row = ui.page.locator(`[data-testid=timeline] li.step[data-step="${step}"]`).last();
  const logTail = row.locator('[data-testid=log-tail]');
  const progress = row.locator('[data-testid=progress]');
  return {
    state: (await row.getAttribute('data-state')) ?? '',
    text: await row.innerText(),
    logTail: (await logTail.count()) > 0 ? await logTail.innerText() : '',
    progress: (await progress.count()) > 0 ? await progress.innerText() : '',
  };
}

/** Marks the page so that a reload (which would clear it) shows. */
export async function markPage(ui: UiBrowser): Promise<void> {
  await ui.page.evaluate('window.__ingotNotReloaded = true');
}

/** Whether the mark survived: no navigation replaced the page since {@link markPage}. */
export async function pageStillMarked(ui: UiBrowser): Promise<boolean> {
  return (await ui.page.evaluate('window.__ingotNotReloaded === true')) === true;
}

/**
 * Opens the racks page from the navigation; returns what the rack's row shows as its status and
 * as the controller holding its session.
 */
export async function rackRow(
  ui: UiBrowser,
  rackId: string,
): Promise<{ status: string; controller: string }> {
  const { page } = ui;
  await page.getByRole('link', { name: 'Racks', exact: true }).click();
  const row = page.getByRole('table', { name: 'Racks' }).locator(`tr[data-rack="${rackId}"]`);
  await row.waitFor({ timeout: 30_000 });
  return {
    status: (await row.locator('.badge').innerText()).trim(),
    controller: (await row.getByTestId('rack-controller').innerText()).trim(),
  };
}

/** The machine as the API has it (to check the UI against). */
export async function machineStatus(site: DeploySite, vm: LabMachine): Promise<string> {
  return (await site.machine(vm.machineId)).status;
}

/** A story check: throws with `what` (vitest and the script both report the error). */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** Readies the lab for the story: commissions `vm` and gives operator `ops` a password. */
export async function prepareUiLab(
  site: DeploySite,
  vm: LabMachine,
  password: string,
  log: (m: string) => void,
): Promise<LabMachine> {
  const facts = await commission(site, vm);
  log(`commissioned ${vm.name} (${vm.machineId}) in ${facts.seconds.toFixed(1)} s`);
  await setPasswordWithCli(site.controller.url, site.controller.adminKey, 'ops', password);
  return vm;
}

/**
 * From the open machine page: allocates, deploys in memory, and checks the timeline reached
 * `deployed` live — the same page, never reloaded — and that the API agrees.
 */
export async function deployInMemoryLive(
  ui: UiBrowser,
  site: DeploySite,
  vm: LabMachine,
): Promise<TimelineOutcome> {
  await markPage(ui);
  const loads = ui.loads();
  await allocate(ui);
  const deployed = await deployFromForm(ui, {
    image: 'ingot/tiny',
    ephemeral: true,
    timeoutMs: 300_000,
    onRunning: async () => {
      await ui.screenshot('02-deploying');
    },
  });
  await ui.screenshot('03-deployed');
  check(deployed.status === 'deployed', `the timeline ended ${deployed.status}, not deployed`);
  check(ui.loads() === loads && (await pageStillMarked(ui)), 'the page was reloaded');
  check((await machineStatus(site, vm)) === 'deployed', 'the API does not show deployed');
  return deployed;
}

/** What the failing disk deploy showed. */
export interface FailedDeployView {
  readonly outcome: TimelineOutcome;
  readonly image: Awaited<ReturnType<typeof timelineRow>>;
  readonly customise: Awaited<ReturnType<typeof timelineRow>>;
}

/**
 * From the machine page of a `ready` machine: allocates and deploys to disk with a customisation
 * command that fails, and checks the timeline shows the failing step with its log tail, live.
 */
export async function failingDiskDeploy(ui: UiBrowser): Promise<FailedDeployView> {
  await allocate(ui);
  const outcome = await deployFromForm(ui, {
    image: 'ingot/tiny',
    commands: 'echo about-to-fail; exit 3',
    timeoutMs: 400_000,
  });
  await ui.screenshot('04-failed');
  const image = await timelineRow(ui, 'install.image');
  const customise = await timelineRow(ui, 'install.customise');
  check(outcome.status === 'failed_deployment', `the failing deploy ended ${outcome.status}`);
  check(
    customise.state === 'failed' && customise.logTail.includes('about-to-fail'),
    'no failing step with its log tail',
  );
  check(await pageStillMarked(ui), 'the page was reloaded');
  return { outcome, image, customise };
}

/** Script errors and Content-Security-Policy refusals the page reported. */
export function pageErrors(ui: UiBrowser): string[] {
  return ui
    .errors()
    .filter((e) => e.startsWith('pageerror') || e.includes('Content Security Policy'));
}
