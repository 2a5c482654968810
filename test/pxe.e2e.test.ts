import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PXE_STEPS, pxeBoot, pxeEnlist, startPxeSite, type PxeSite } from './harness/pxe.ts';

/** The steps of `steps` that are PXE steps, keeping their order. */
function pxeOrder(steps: readonly string[]): string[] {
  return steps.filter((s) => PXE_STEPS.includes(s));
}

describe('stock firmware PXE-boots from the agent alone', () => {
  let site: PxeSite;
  beforeAll(async () => {
    site = await startPxeSite();
  }, 120_000);
  afterAll(async () => {
    await site.close();
  });

  it.each([
    ['bios', '52:54:00:31:00:01'],
    ['uefi', '52:54:00:31:00:02'],
  ] as const)(
    '%s: DHCP → iPXE script → kernel + initrd over HTTP → squashfs, every step on the controller',
    async (firmware, mac) => {
      const result = await pxeBoot(site, firmware, mac);
      expect(pxeOrder(result.steps)).toEqual(PXE_STEPS);
      const ack = result.events.find((e) => e.step === 'dhcp.ack');
      expect(ack?.message).toMatch(/^Performing PXE boot: 172\.31\.0\.1\d\d on 172\.31\.0\.0\/24/);
      // The test environment reached userspace and reported through the agent.
      expect(result.events.some((e) => e.step === 'install.reboot')).toBe(true);
      // The agent advertised on the segment, so iPXE did not wait for IPv6 autoconfiguration.
      expect(result.routerAdvertisements).toBeGreaterThan(0);
      expect(result.dhcpToKernelMs).toBeGreaterThan(0);
    },
    240_000,
  );

  it('enlists an unknown machine that PXE-boots as new, with its architecture', async () => {
    const machine = await pxeEnlist(site, '52:54:00:31:00:99');
    expect(machine).toMatchObject({ status: 'new', arch: 'amd64', macs: ['52:54:00:31:00:99'] });
  }, 120_000);
});
