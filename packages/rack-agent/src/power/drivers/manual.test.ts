import { describe, expect, it } from 'vitest';
import { setPower } from '../set-power.ts';
import { createManualPowerDriver } from './manual.ts';

const context = (pxeOnce: boolean) => ({
  target: { machineId: 'm1', hostname: 'node1' },
  signal: new AbortController().signal,
  pxeOnce,
});

describe('manual power driver', () => {
  const driver = createManualPowerDriver();

  it.each([
    [{}, true],
    [undefined, true],
    ['text', false],
    [[1], false],
  ] as const)('parseParams(%j) ok=%s', (raw, expected) => {
    expect(driver.parseParams(raw).ok).toBe(expected);
  });

  it('asks the operator and reports unknown state without verifying', async () => {
    const result = await setPower(driver, {}, { action: 'on', uefi: false }, context(true));
    expect(result).toEqual({
      ok: true,
      value: {
        state: 'unknown',
        verified: false,
        attempts: 1,
        message: 'Manual power driver: an operator must power on node1 now (PXE boot once)',
      },
    });
  });

  it('does not mention PXE for power off', async () => {
    const result = await setPower(driver, {}, { action: 'off', uefi: false }, context(true));
    expect(result.ok && result.value.message).toBe(
      'Manual power driver: an operator must power off node1 now',
    );
  });
});
