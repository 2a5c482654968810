/**
 * `pnpm e2e:deploy [--debian]`: a lab VM (blank 4 GiB disk, IPMI BMC) is commissioned, then the
 * small busybox image is deployed to its disk (installer → reboot → disk boot → user data →
 * `deployed`), the machine released with a quick erase, and the image deployed in memory. With
 * `--debian` the Debian 12 image (stock cloud-init, OpenSSH) is deployed too and reached over SSH
 * with the operator's key. Prints the phase table (seconds after power-on) and ends with
 * `deploy: disk <s> s, memory <s> s (power-on → deployed)`; exits non-zero when a step fails.
 */
import { randomBytes } from 'node:crypto';
import {
  startDeploySite,
  waitForConsole,
  type DeploySite,
  type EventWithData,
  type ImageKind,
} from '../harness/deploy-lab.ts';
import {
  commission,
  deploy,
  diskSignature,
  PHASE_HEADER,
  phaseRow,
  release,
  type Phases,
} from '../harness/deploy-scenario.ts';
import { sshIntoDeployed } from '../harness/deploy-ssh.ts';

const withDebian = process.argv.includes('--debian');

/** Every step of one deploy with its offset from the first event, as an operator sees it. */
function printTimeline(title: string, events: readonly EventWithData[]): void {
  const t0 = Date.parse(events[0]?.occurred_at ?? '');
  out(`\n${title}:`);
  for (const e of events) {
    if (e.result === 'started' && e.step === 'install.image') continue; // progress ticks
    const dt = (Date.parse(e.occurred_at ?? '') - t0) / 1000;
    out(
      `  +${dt.toFixed(1).padStart(6)} s  ${e.step.padEnd(22)} ${e.result.padEnd(9)} ${e.message.slice(0, 90)}`,
    );
  }
}
const out = (s: string): void => void process.stdout.write(`${s}\n`);
const rows: string[] = [];
let disk: Phases | undefined;
let memory: Phases | undefined;
let failed = false;
let site: DeploySite | undefined;
try {
  const images: ImageKind[] = withDebian ? ['tiny', 'debian'] : ['tiny'];
  site = await startDeploySite({ images, log: out });
  const vm = site.machines[0];
  if (vm === undefined) throw new Error('the lab has no machine');

  const facts = await commission(site, vm);
  out(
    `commissioned in ${facts.seconds.toFixed(1)} s: ${facts.cpuCount} CPUs, ${facts.memoryMib} MiB, ${facts.storageGib} GiB`,
  );

  const marker = `ingot-${randomBytes(4).toString('hex')}`;
  const d = await deploy(site, vm, {
    os: 'ingot',
    release: 'tiny',
    userData: `#!/bin/sh\necho ${marker}\n`,
  });
  disk = d.phases;
  rows.push(phaseRow('tiny, to disk', d.phases));
  printTimeline('tiny, to disk', d.events);
  if (!(await waitForConsole(site, vm.name, marker))) throw new Error('the user data did not run');
  await release(site, vm, 'quick');
  if (diskSignature(vm.disk).gpt) throw new Error('the erase left a partition table');

  const m = await deploy(site, vm, { os: 'ingot', release: 'tiny', ephemeral: true });
  memory = m.phases;
  rows.push(phaseRow('tiny, in memory', m.phases));
  if (diskSignature(vm.disk).gpt) throw new Error('the deploy in memory wrote the disk');
  await release(site, vm);

  if (withDebian) {
    const deb = await deploy(site, vm, {
      os: 'debian',
      release: 'bookworm',
      userData: `#cloud-config\nwrite_files:\n  - path: /var/tmp/${marker}\n    content: hello\n`,
      timeoutMs: 1_200_000,
    });
    rows.push(phaseRow('debian 12, to disk', deb.phases));
    printTimeline('debian 12, to disk', deb.events);
    const ssh = await sshIntoDeployed(site, deb.ip, `cat /var/tmp/${marker}`);
    out(`ssh debian@${deb.ip ?? '?'}: ${ssh.trim()}`);
    await release(site, vm, 'quick');
    const mem = await deploy(site, vm, {
      os: 'debian',
      release: 'bookworm',
      ephemeral: true,
      timeoutMs: 1_200_000,
    });
    rows.push(phaseRow('debian 12, in memory', mem.phases));
    await release(site, vm);
  }
} catch (error) {
  failed = true;
  process.stderr.write(
    `e2e:deploy failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
} finally {
  await site?.close();
}
out('\nseconds after power-on');
out(PHASE_HEADER);
for (const r of rows) out(r);
const s = (p: Phases | undefined): string =>
  p?.deployed === undefined ? 'failed' : (p.deployed / 1000).toFixed(1);
out(`deploy: disk ${s(disk)} s, memory ${s(memory)} s (power-on → deployed)`);
process.exitCode = failed || disk === undefined || memory === undefined ? 1 : 0;
