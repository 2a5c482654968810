import { describe, expect, it } from 'vitest';
import { createSecretBox, generateSecretKey, sealPowerParams } from '../app/secret-box.ts';
import { commandToProto } from './convert.ts';

describe('commandToProto and sealed power parameters', () => {
  const box = createSecretBox(generateSecretKey());
  const params = { address: '10.0.0.9', password: 'S3cr3t-BMC-pass' };
  const command = (p: Readonly<Record<string, unknown>>) => ({
    seq: 1,
    id: 'c1',
    rackId: 'r1',
    machineId: 'm1',
    createdAtMs: 0,
    ackedAtMs: null,
    body: {
      kind: 'power' as const,
      machineId: 'm1',
      action: 'on' as const,
      driver: 'ipmi',
      params: p,
      pxeOnce: true,
    },
  });

  it('opens sealed parameters for the rack, and passes plaintext rows from before as they are', () => {
    for (const stored of [sealPowerParams(box, params), params]) {
      const proto = commandToProto(command(stored), box);
      expect(proto.kind?.$case === 'power' && JSON.parse(proto.kind.value.paramsJson)).toEqual(
        params,
      );
    }
  });

  it('throws rather than send parameters it cannot open', () => {
    const other = createSecretBox(generateSecretKey());
    expect(() => commandToProto(command(sealPowerParams(other, params)), box)).toThrow();
  });
});
