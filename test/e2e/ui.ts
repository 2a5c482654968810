/**
 * `pnpm e2e:ui`: the web UI story in the virtual lab, in headless Debian Chromium through
 * playwright-core (test/harness/ui-scenario.ts): sign in, find the lab machine, allocate and
 * deploy it in memory from its page and watch the timeline reach `deployed` without a reload,
 * release it, then a disk deploy with a failing customisation command whose timeline shows the
 * failing step and its log tail. Screenshots in test/artifacts/ui/. Ends with
 * `ui: deployed via browser in <s> s`; exits non-zero when a step fails.
 */
import { startDeploySite, type DeploySite } from '../harness/deploy-lab.ts';
import {
  ensureUiBuilt,
  openUiBrowser,
  UI_ARTIFACTS,
  type UiBrowser,
} from '../harness/ui-browser.ts';
import {
  deployInMemoryLive,
  failingDiskDeploy,
  openMachine,
  pageErrors,
  prepareUiLab,
  releaseFromForm,
  signIn,
} from '../harness/ui-scenario.ts';

const out = (s: string): void => void process.stdout.write(`${s}\n`);

let site: DeploySite | undefined;
let ui: UiBrowser | undefined;
let deployedSeconds: number | undefined;
let failed = false;
try {
  ensureUiBuilt(out);
  site = await startDeploySite({ images: ['tiny'], log: out });
  const first = site.machines[0];
  if (first === undefined) throw new Error('the lab has no machine');
  const password = `ops-${Date.now().toString(36)}-password`;
  const vm = await prepareUiLab(site, first, password, out);

  ui = await openUiBrowser(`${site.controller.url}/`);
  await signIn(ui, 'ops', password);
  await openMachine(ui, vm);
  out('signed in as ops in the browser; machine page open');

  const deployed = await deployInMemoryLive(ui, site, vm);
  out(`in-memory deploy, timeline as the browser showed it:\n  ${deployed.steps.join('\n  ')}`);
  deployedSeconds = deployed.seconds;

  await releaseFromForm(ui, 'none');
  out('released from the browser');

  const failing = await failingDiskDeploy(ui);
  out(
    `failing disk deploy: ${failing.outcome.status}; image ${failing.image.progress}; ${failing.customise.state} step install.customise, log tail:`,
  );
  out(
    failing.customise.logTail
      .split('\n')
      .map((l) => `  | ${l}`)
      .join('\n'),
  );
  const errors = pageErrors(ui);
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
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
