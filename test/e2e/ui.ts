/**
 * `pnpm e2e:ui`: the web UI story in the virtual lab, in headless Debian Chromium through
 * playwright-core (test/harness/ui-scenario.ts): sign in, find the lab machine, allocate and
 * deploy it in memory from its page and watch the timeline reach `deployed` without a reload,
 * release it, then a disk deploy with a failing customisation command whose timeline shows the
 * failing step and its log tail. Screenshots in test/artifacts/ui/. Ends with
 * `ui: deployed via browser in <s> s`; exits non-zero when a step fails.
 */
import { startDeploySite, type DeploySite } from '../harness/deploy-lab.ts';
import { commission } from '../harness/deploy-scenario.ts';
import {
  ensureUiBuilt,
  openUiBrowser,
  setPasswordWithCli,
  UI_ARTIFACTS,
  type UiBrowser,
} from '../harness/ui-browser.ts';
import {
  allocate,
  deployFromForm,
  machineStatus,
  markPage,
  openMachine,
  pageStillMarked,
  releaseFromForm,
  signIn,
  timelineRow,
} from '../harness/ui-scenario.ts';

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const check = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(what);
};

let site: DeploySite | undefined;
let ui: UiBrowser | undefined;
let deployedSeconds: number | undefined;
let failed = false;
try {
  ensureUiBuilt(out);
  site = await startDeploySite({ images: ['tiny'], log: out });
  const vm = site.machines[0];
  if (vm === undefined) throw new Error('the lab has no machine');
  const facts = await commission(site, vm);
  out(`commissioned ${vm.name} (${vm.machineId}) in ${facts.seconds.toFixed(1)} s`);
  const password = `ops-${Date.now().toString(36)}-password`;
  await setPasswordWithCli(site.controller.url, site.controller.adminKey, 'ops', password);

  ui = await openUiBrowser(`${site.controller.url}/`);
  await signIn(ui, 'ops', password);
  await openMachine(ui, vm);
  await markPage(ui);
  const loads = ui.loads();
  out('signed in as ops in the browser; machine page open');

  await allocate(ui);
  const browser = ui;
  const deployed = await deployFromForm(ui, {
    image: 'ingot/tiny',
    ephemeral: true,
    timeoutMs: 300_000,
    onRunning: async () => {
      await browser.screenshot('02-deploying');
    },
  });
  await ui.screenshot('03-deployed');
  out(`in-memory deploy, timeline as the browser showed it:\n  ${deployed.steps.join('\n  ')}`);
  check(deployed.status === 'deployed', `the timeline ended ${deployed.status}, not deployed`);
  check(ui.loads() === loads && (await pageStillMarked(ui)), 'the page was reloaded');
  check((await machineStatus(site, vm)) === 'deployed', 'the API does not show deployed');
  deployedSeconds = deployed.seconds;

  await releaseFromForm(ui, 'none');
  out('released from the browser');

  await allocate(ui);
  const failing = await deployFromForm(ui, {
    image: 'ingot/tiny',
    commands: 'echo about-to-fail; exit 3',
    timeoutMs: 400_000,
  });
  await ui.screenshot('04-failed');
  const row = await timelineRow(ui, 'install.customise');
  const image = await timelineRow(ui, 'install.image');
  out(
    `failing disk deploy: ${failing.status}; image ${image.progress}; ${row.state} step install.customise, log tail:`,
  );
  out(
    row.logTail
      .split('\n')
      .map((l) => `  | ${l}`)
      .join('\n'),
  );
  check(failing.status === 'failed_deployment', `the failing deploy ended ${failing.status}`);
  check(
    row.state === 'failed' && row.logTail.includes('about-to-fail'),
    'no failing step with its log tail',
  );
  check(await pageStillMarked(ui), 'the page was reloaded');
  const pageErrors = ui
    .errors()
    .filter((e) => e.startsWith('pageerror') || e.includes('Content Security Policy'));
  check(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
  out(`screenshots: ${UI_ARTIFACTS}`);
} catch (error) {
  failed = true;
  await ui?.screenshot('error').catch(() => undefined);
  process.stderr.write(
    `e2e:ui failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
} finally {
  await ui?.close().catch(() => undefined);
  await site?.close();
}
if (failed || deployedSeconds === undefined) {
  out('ui: failed');
  process.exitCode = 1;
} else {
  out(`ui: deployed via browser in ${deployedSeconds.toFixed(1)} s`);
}
