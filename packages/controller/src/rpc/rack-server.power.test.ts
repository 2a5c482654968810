/**
 * Power configs through the real gRPC server: a session starts with every machine's, and a
 * notification naming machines makes the session read and send just those. The rack service is a
 * stand-in that records which machines each read asked for.
 */
import type { SessionResponse } from '@ingot/proto/rack/v1';
import { afterEach, describe, expect, it } from 'vitest';
import type { RackPowerConfig } from '../app/rack-power-configs.ts';
import { openStandInSession, STAND_IN_RACK as RACK, until } from './stand-in-session.ts';

describe('rack session power configs', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a session starts with every machine; a change sends only the machines it names', async () => {
    const configs = new Map<string, RackPowerConfig>();
    const put = (machineId: string, password: string): void => {
      configs.set(machineId, { machineId, driver: 'ipmi', params: { password } });
    };
    put('m1', 'a');
    put('m2', 'b');
    const reads: (readonly string[] | 'all')[] = [];
    const got: string[] = [];
    const { server } = await openStandInSession(
      {
        pendingCommands: () => Promise.resolve([]),
        powerConfigs: (_rackId: string, machineIds?: readonly string[]) => {
          reads.push(machineIds === undefined ? 'all' : [...machineIds].sort());
          const all = [...configs.values()];
          return Promise.resolve(
            machineIds === undefined ? all : all.filter((c) => machineIds.includes(c.machineId)),
          );
        },
      },
      (m: SessionResponse) => {
        const cmd = m.kind?.$case === 'command' ? m.kind.value.kind : undefined;
        if (cmd?.$case === 'powerConfig')
          got.push(`${cmd.value.machineId} ${cmd.value.driver} ${cmd.value.paramsJson}`);
      },
      cleanups,
    );
    await until('the first push', () => got.length === 2);
    expect(reads).toEqual(['all']);

    put('m1', 'a2');
    put('m3', 'c');
    configs.delete('m2');
    server.powerConfigsChanged(RACK, ['m1']);
    server.powerConfigsChanged(RACK, ['m2', 'm3']);
    await until('the changes', () => got.length === 5);
    expect(got.slice(2).sort()).toEqual([
      'm1 ipmi {"password":"a2"}',
      'm2  ',
      'm3 ipmi {"password":"c"}',
    ]);
    // Both notifications came before the push could start: one read of the three machines.
    expect(reads).toEqual(['all', ['m1', 'm2', 'm3']]);
  }, 30_000);
});
