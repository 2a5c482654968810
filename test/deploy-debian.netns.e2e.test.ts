/**
 * Issue 5's core moment with the real Debian 12 image: a blank lab VM is enlisted by PXE,
 * commissioned, allocated and deployed with the operator's SSH key and cloud-config user data;
 * the installer writes the image, the VM reboots into its disk, Debian's stock cloud-init (MAAS datasource, through the
 * rack agent) fetches its user data — which marks the machine `deployed` — and SSH from the lab
 * namespace with the operator's key shows the user data's effect. Then release with erase.
 * The image is built from Debian packages once and cached by its inputs.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDeploySite, type DeploySite, type LabMachine } from './harness/deploy-lab.ts';
import {
  commission,
  deploy,
  diskSignature,
  enlistByPxe,
  PHASE_HEADER,
  phaseRow,
  release,
} from './harness/deploy-scenario.ts';
import { sshIntoDeployed } from './harness/deploy-ssh.ts';

describe('deploying Debian 12 to a lab VM', () => {
  let site: DeploySite;
  let vm: LabMachine;
  useDeploySite(
    {
      images: ['debian'],
      enlist: true,
      // A blank VM: powered on at its BMC, enlisted by PXE, given its BMC, commissioned.
      prepare: async (s, first) => {
        const enlisted = await enlistByPxe(s, first);
        await commission(s, enlisted);
        return enlisted;
      },
      setupTimeoutMs: 3_600_000,
    },
    (s, m) => {
      site = s;
      vm = m;
    },
  );

  it('installs, boots from disk, runs cloud-init, and lets the operator in over SSH', async () => {
    const marker = `ingot-${randomBytes(6).toString('hex')}`;
    const out = await deploy(site, vm, {
      os: 'debian',
      release: 'bookworm',
      userData: [
        '#cloud-config',
        'write_files:',
        `  - path: /var/tmp/${marker}`,
        '    content: written by cloud-init from Ingot user data',
        'runcmd:',
        `  - [sh, -c, "echo ran > /var/tmp/${marker}.runcmd"]`,
        '',
      ].join('\n'),
      timeoutMs: 1_200_000,
    });
    expect(out.status).toBe('deployed');
    site.log(
      `seconds after power-on\n${PHASE_HEADER}\n${phaseRow('debian 12, to disk', out.phases)}`,
    );
    // cloud-init, not the installer, marked it deployed: through the metadata service.
    const deployed = out.events.find((e) => e.kind === 'transition' && e.to_status === 'deployed');
    expect(deployed?.actor).toBe(`machine:${vm.machineId}`);
    expect(diskSignature(vm.disk).gpt).toBe(true);

    // write_files runs while cloud-init configures the system; runcmd only in its final stage,
    // which may still be running when SSH first answers: wait for it (bounded).
    const seen = await sshIntoDeployed(
      site,
      out.ip,
      [
        `cat /var/tmp/${marker}; echo`,
        `for i in $(seq 90); do [ -f /var/tmp/${marker}.runcmd ] && break; sleep 2; done`,
        `cat /var/tmp/${marker}.runcmd || systemctl --no-pager status cloud-final`,
        'cat ~/.ssh/authorized_keys',
      ].join('; '),
    );
    expect(seen).toContain('written by cloud-init from Ingot user data');
    expect(seen).toMatch(/^ran$/m);
    expect(seen).toContain(site.sshPublicKey.split(' ')[1]);
  }, 1_500_000);

  it('releases with a quick erase', async () => {
    await release(site, vm, 'quick');
    expect(diskSignature(vm.disk).gpt).toBe(false);
  }, 400_000);
});
