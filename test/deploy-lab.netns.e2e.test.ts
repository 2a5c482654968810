/**
 * Issue 5, end to end in the virtual lab with the small (busybox) install image: a blank lab VM
 * behind a BMC is enlisted by PXE and commissioned (facts recorded), allocated, deployed to disk
 * with user data (installer → reboot → disk boot → the image's init fetches user data →
 * `deployed`), released with erase, deployed in memory (nothing written), and an installer step that fails
 * ends in `failed_deployment` with the step and the installer's log tail. Driven through the CLI.
 * The Debian image with stock cloud-init and SSH runs in `deploy-debian.netns.e2e.test.ts`.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  useDeploySite,
  waitForConsole,
  type DeploySite,
  type LabMachine,
} from './harness/deploy-lab.ts';
import {
  commission,
  deploy,
  diskSignature,
  enlistByPxe,
  importCorruptedCopy,
  PHASE_HEADER,
  phaseRow,
  release,
  releaseFailed,
} from './harness/deploy-scenario.ts';

describe('deploying the small image to a lab VM', () => {
  let site: DeploySite;
  let vm: LabMachine;
  useDeploySite({ images: ['tiny'], enlist: true }, (s, m) => {
    site = s;
    vm = m;
  });

  it('enlists the blank VM by PXE, then commissions it: the environment reports its hardware', async () => {
    vm = await enlistByPxe(site, vm);
    expect((await site.machine(vm.machineId)).status).toBe('new');
    const facts = await commission(site, vm);
    expect(facts.cpuCount).toBe(2);
    // MemTotal is what the kernel has left of the VM's 1536 MiB.
    expect(facts.memoryMib).toBeGreaterThan(1200);
    expect(facts.memoryMib).toBeLessThanOrEqual(1536);
    expect(facts.storageGib).toBe(4);
  }, 400_000);

  it('deploys to disk: installs, reboots into the disk, runs the user data, deployed', async () => {
    const marker = `ingot-user-data-${randomBytes(6).toString('hex')}`;
    const out = await deploy(site, vm, {
      os: 'ingot',
      release: 'tiny',
      userData: `#!/bin/sh\necho ${marker}\n`,
    });
    expect(out.status).toBe('deployed');
    const steps = out.events.map((e) => `${e.step} ${e.result}`);
    const order = [
      'install.storage succeeded',
      'install.image succeeded',
      'install.bootloader succeeded',
      'install.reboot succeeded',
    ].map((s) => steps.indexOf(s));
    expect(
      order.every((i) => i >= 0),
      steps.join('\n'),
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // install.image reported its progress in bytes.
    const progress = out.events.find(
      (e) => e.step === 'install.image' && typeof e.data['bytes_total'] === 'number',
    );
    expect(progress?.data['bytes_total']).toBeGreaterThan(0);
    // The disk boot ran the user data (the image's init prints its output on the console).
    expect(await waitForConsole(site, vm.name, marker), site.serialLog(vm.name).slice(-2000)).toBe(
      true,
    );
    expect(diskSignature(vm.disk).gpt).toBe(true);
    site.log(`seconds after power-on\n${PHASE_HEADER}\n${phaseRow('tiny, to disk', out.phases)}`);
  }, 700_000);

  it('releases with a quick erase: the disk has no partition table left', async () => {
    const r = await release(site, vm, 'quick');
    expect(r.events.some((e) => e.step === 'erase' && e.result === 'succeeded')).toBe(true);
    const disk = diskSignature(vm.disk);
    expect(disk.gpt).toBe(false);
    expect(disk.firstMiBZero).toBe(true);
  }, 400_000);

  it('deploys in memory: deployed, ephemeral shown, nothing written to the disk', async () => {
    const out = await deploy(site, vm, { os: 'ingot', release: 'tiny', ephemeral: true });
    expect(out.status).toBe('deployed');
    expect(out.machine['deployment']).toMatchObject({ ephemeral: true });
    expect(out.events.filter((e) => e.step.startsWith('install.'))).toEqual([]);
    expect(diskSignature(vm.disk)).toMatchObject({ gpt: false, firstMiBZero: true });
    await release(site, vm);
  }, 700_000);

  it('an installer step that fails ends the deploy with the step and its log tail', async () => {
    const out = await deploy(site, vm, {
      os: 'ingot',
      release: 'tiny',
      extra: ['--run', 'echo about-to-fail; exit 3'],
      expectFailure: true,
    });
    expect(out.status).toBe('failed_deployment');
    const failed = out.events.find((e) => e.result === 'failed');
    expect(failed?.step).toBe('install.customise');
    expect(String(failed?.data['log_tail'])).toContain('about-to-fail');
    expect(String(out.machine['status_message'])).toContain('install.customise');
    // Reported, not timed out: the failure came within a minute of the image being written.
    const written = out.events.find((e) => e.step === 'install.image' && e.result === 'succeeded');
    const failedAt = Date.parse(failed?.occurred_at ?? '');
    expect(failedAt - Date.parse(written?.occurred_at ?? '')).toBeLessThan(60_000);
    await releaseFailed(site, vm);
  }, 700_000);

  it('an image file with the wrong checksum fails the deploy at once, naming the file', async () => {
    const release = await importCorruptedCopy(site, 'ingot', 'tiny');
    const t0 = Date.now();
    const out = await deploy(site, vm, { os: 'ingot', release, expectFailure: true });
    expect(Date.now() - t0).toBeLessThan(60_000);
    const failed = out.events.find((e) => e.result === 'failed');
    expect(failed?.step).toBe('image.fetch');
    expect(failed?.message).toContain('sha256');
    expect(String(out.machine['status_message'])).toContain('image.fetch');
    await releaseFailed(site, vm);
  }, 300_000);
});
