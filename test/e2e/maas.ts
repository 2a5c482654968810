/**
 * `pnpm e2e:maas`: the MAAS 2.0 client cycle in the virtual lab (issue 8). A lab VM is
 * commissioned and tagged; then Juju's MAAS library, gomaasapi (test/maas-client, built from
 * Debian's package), with the operator's `ingot users api-key --maas` key, reads the inventory,
 * allocates the VM by constraints, deploys the tiny image to its disk with user data, waits for
 * `Deployed` and releases it. Prints each client step and ends with
 * `maas: allocate ok, deploy ok, release ok`; exits non-zero when a step fails.
 */
import { startDeploySite, type DeploySite } from '../harness/deploy-lab.ts';
import { PHASE_HEADER, phaseRow, phasesOf } from '../harness/deploy-scenario.ts';
import { maasCycle, prepareLabMachine, type MaasCycle } from '../harness/maas-scenario.ts';

const out = (s: string): void => void process.stdout.write(`${s}\n`);
let site: DeploySite | undefined;
let cycle: MaasCycle | undefined;
let failure: string | undefined;
try {
  site = await startDeploySite({ images: ['tiny'], log: out });
  const vm = site.machines[0];
  if (vm === undefined) throw new Error('the lab has no machine');
  const facts = await prepareLabMachine(site, vm);
  out(
    `commissioned ${vm.name} in ${facts.seconds.toFixed(1)} s: ${facts.cpuCount} CPUs, ${facts.memoryMib} MiB, ${facts.storageGib} GiB`,
  );
  cycle = await maasCycle(site, vm, { log: out });
  const disk = cycle.deployEvents.some(
    (e) => e.step === 'install.image' && e.result === 'succeeded',
  );
  if (!disk) throw new Error('the deploy did not write the image to the disk');
  if (!cycle.userDataRan)
    throw new Error(`the user data's ${cycle.marker} never reached the console`);
  if (cycle.ready.status_name !== 'Ready')
    throw new Error(`released to ${cycle.ready.status_name}`);
  const s = cycle.seconds;
  out('\nseconds, as the MAAS client saw them');
  out(`  allocate                ${s.allocate.toFixed(2)}`);
  out(`  deploy (op=deploy)      ${s.deploy.toFixed(2)}`);
  out(`  Deploying → Deployed    ${s.deployed.toFixed(1)}   (tiny image to disk, user data ran)`);
  out(`  release → Ready         ${s.release.toFixed(1)}`);
  out("\nthe deploy, seconds after power-on (from the machine's events)");
  out(PHASE_HEADER);
  out(phaseRow('tiny, to disk (MAAS)', phasesOf(cycle.deployEvents)));
} catch (error) {
  failure = error instanceof Error ? error.message : String(error);
  process.stderr.write(`e2e:maas failed: ${failure}\n`);
} finally {
  await site?.close();
}
if (failure === undefined && cycle !== undefined) {
  out('maas: allocate ok, deploy ok, release ok');
} else {
  process.exitCode = 1;
}
