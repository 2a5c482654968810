import { describe, expect, it } from 'vitest';
import { POWER_BOOT_STEPS, powerBootOrder, runLabPower } from './harness/lab-power.ts';

describe('ingot lab: VMs behind ipmi_sim and Redfish PXE-boot when the controller powers them on', () => {
  it('lab up --machines 2 → deploy each (ipmi, redfish) → power.on … boot.kernel → off → lab down leaves nothing', async () => {
    const result = await runLabPower(2);
    expect(result.boots.map((b) => b.power)).toEqual(['ipmi', 'redfish']);
    for (const b of result.boots) {
      expect(powerBootOrder(b.steps), `${b.name} (${b.power})`).toEqual(POWER_BOOT_STEPS);
      const on = b.events.find((e) => e.step === 'power.on' && e.result === 'succeeded');
      expect(on?.message, b.name).toMatch(b.power === 'ipmi' ? /ipmi/ : /redfish/i);
      expect(b.poweredOff, `${b.name} powered off through the API`).toBe(true);
    }
    expect(result.statusOutput).toMatch(/lab-1 .*ipmi/);
    expect(result.leftovers).toEqual([]);
  }, 600_000);
});
