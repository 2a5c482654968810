/**
 * Issue 8 in the virtual lab: Juju's MAAS library (gomaasapi, via test/maas-client) drives a full
 * cycle against a running controller — allocate the commissioned lab VM by constraints (arch,
 * cpu_count, mem, tags, storage), deploy the tiny image to its disk with user data (which runs:
 * its output shows on the VM's console), wait for `Deployed`, release, `Ready`. The same cycle
 * prints its report with `pnpm e2e:maas`; the fast check without a VM is maas-client.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { useDeploySite, type DeploySite, type LabMachine } from './harness/deploy-lab.ts';
import { LAB_TAGS, maasCycle, prepareLabMachine } from './harness/maas-scenario.ts';

describe('a real MAAS client drives a lab VM through allocate, deploy and release', () => {
  let site: DeploySite;
  let vm: LabMachine;
  useDeploySite({ images: ['tiny'] }, (s, m) => {
    site = s;
    vm = m;
  });

  it('allocates by constraints, deploys to disk with user data, sees Deployed, releases', async () => {
    await prepareLabMachine(site, vm);
    const cycle = await maasCycle(site, vm, { log: (m) => console.log(m) });

    const connect = cycle.inventory.step('connect');
    expect(connect['version']).toEqual(expect.any(String));
    const resources = cycle.inventory.step('boot-resources')['resources'] as { name: string }[];
    expect(resources.map((r) => r.name)).toContainEqual(expect.stringContaining('tiny'));

    expect(cycle.allocated).toMatchObject({ status_name: 'Allocated', cpu_count: 2 });
    expect(cycle.allocated.memory).toBeGreaterThanOrEqual(1024);
    expect(cycle.allocated.tag_names).toEqual(expect.arrayContaining([...LAB_TAGS]));
    expect(cycle.allocated.interfaces.map((i) => i.mac_address)).toContain(vm.mac);
    const root = cycle.allocated.constraints_by_type?.storage['root'] ?? [];
    expect(cycle.allocated.block_devices.map((d) => d.id)).toContain(root[0]);

    expect(cycle.deploying.status_name).toBe('Deploying');
    expect(cycle.deployed).toMatchObject({ status_name: 'Deployed', distro_series: 'tiny' });
    // Juju reaches its machines by these: the deployed OS's address on the lab network.
    expect(cycle.deployed.ip_addresses).toContainEqual(expect.stringMatching(/^172\.31\./));
    // A deploy to disk: the installer partitioned, wrote the image and rebooted into it.
    const steps = cycle.deployEvents.map((e) => `${e.step} ${e.result}`);
    expect(steps).toEqual(
      expect.arrayContaining(['install.image succeeded', 'install.reboot succeeded']),
    );
    expect(cycle.userDataRan, site.serialLog(vm.name).slice(-2000)).toBe(true);

    expect(cycle.ready.status_name).toBe('Ready');
    expect((await site.machine(vm.machineId)).owner).toBeNull();
  }, 900_000);
});
