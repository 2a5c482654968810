/**
 * Chaos (issue 7 must-show): two controllers on one PostgreSQL and one rack agent deploy 50
 * simulated machines (the fleet simulator: real DHCP, TFTP, HTTP and metadata) while a seeded
 * schedule SIGKILLs the agent and the controllers at random points and restarts each after a
 * short random delay. Every machine ends `deployed` or `failed_*` with a reason, no event is lost
 * or duplicated, no address is given to two machines, no machine is allocated twice. The seed is
 * printed; `CHAOS_SEED=<n>` replays the schedule. `pnpm e2e:chaos` runs the same scenario.
 */
import { describe, expect, it } from 'vitest';
import { chaosReport, runChaos } from './harness/chaos-scenario.ts';
import { chaosSeed } from './harness/cluster-random.ts';
import { postgresAvailable } from './harness/postgres.ts';

describe.skipIf(!postgresAvailable)('chaos', () => {
  it('50 deploys while the agent and the controllers are killed at random', async () => {
    const result = await runChaos({
      seed: chaosSeed(),
      deploys: 50,
      controllers: 2,
      kills: 8,
      windowMs: 40_000,
      runDeadlineMs: 8 * 60_000,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    const lines = chaosReport(result);
    process.stdout.write(`${lines.join('\n')}\n`);
    expect(result.actions.length).toBe(8);
    expect(result.actions.filter((a) => !a.restarted)).toEqual([]);
    // Both kinds of process were killed at least once (the schedule is random, the check is not).
    expect(result.actions.some((a) => a.target === 'agent')).toBe(true);
    expect(result.actions.some((a) => a.target !== 'agent')).toBe(true);
    expect(result.report.machines).toBe(50);
    expect(result.report.violations).toEqual([]);
    expect(lines.at(-1)).toBe(
      'chaos: 50 deploys, lost 0, duplicated 0, double-ip 0, double-alloc 0',
    );
  }, 900_000);
});
