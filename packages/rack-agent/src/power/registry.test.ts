import { describe, expect, it } from 'vitest';
import { FakePowerDriver } from '../testing/fake-power-driver.ts';
import { createManualPowerDriver } from './drivers/manual.ts';
import { createPowerRegistry } from './registry.ts';

describe('power registry', () => {
  it('looks drivers up by type, in registration order', () => {
    const registry = createPowerRegistry([createManualPowerDriver(), new FakePowerDriver()]);
    expect(registry.types()).toEqual(['manual', 'fake']);
    expect(registry.get('fake')?.type).toBe('fake');
    expect(registry.get('ipmi')).toBeUndefined();
  });

  it('throws on a duplicate type', () => {
    expect(() => createPowerRegistry([new FakePowerDriver(), new FakePowerDriver()])).toThrow(
      'duplicate power driver type "fake"',
    );
  });
});
