/**
 * `pnpm e2e:chaos`: the chaos scenario (issue 7 must-show). Controllers on one PostgreSQL and one
 * rack agent deploy many simulated machines while a seeded schedule SIGKILLs the agent and the
 * controllers at random points and restarts each after a short random delay. Prints the seed
 * (`CHAOS_SEED=<n>` replays the schedule), every kill, the outcomes and every broken invariant,
 * and ends with `chaos: <n> deploys, lost 0, duplicated 0, double-ip 0, double-alloc 0`; exits
 * non-zero when an invariant fails.
 *
 * Flags: `--deploys N` (50), `--controllers N` (2), `--kills N` (8), `--window S` (40),
 * `--deadline S` (480: the run is judged as it stands then), `--stand-in` (loopback reporting machines instead of the fleet simulator: no netns needed).
 */
import { parseArgs } from 'node:util';
import { chaosReport, runChaos } from '../harness/chaos-scenario.ts';
import { chaosSeed } from '../harness/cluster-random.ts';

const { values } = parseArgs({
  options: {
    deploys: { type: 'string', default: '50' },
    controllers: { type: 'string', default: '2' },
    kills: { type: 'string', default: '8' },
    window: { type: 'string', default: '40' },
    'stand-in': { type: 'boolean', default: false },
    deadline: { type: 'string', default: '480' },
  },
});

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const result = await runChaos({
  seed: chaosSeed(),
  deploys: positive('deploys', values.deploys),
  controllers: positive('controllers', values.controllers),
  kills: positive('kills', values.kills),
  windowMs: positive('window', values.window) * 1000,
  runDeadlineMs: positive('deadline', values.deadline) * 1000,
  machines: values['stand-in'] ? 'stand-in' : 'fleet',
  log: (line) => process.stdout.write(`${line}\n`),
});
for (const line of chaosReport(result)) process.stdout.write(`${line}\n`);
const ok = result.report.violations.length === 0;
process.exit(ok ? 0 : 1);
