/**
 * `pnpm e2e:power`: `ingot lab up --machines 2` against a fresh controller; the controller deploys
 * each machine, powering it on through the agent's real driver (one ipmi via `ipmi_sim`, one
 * redfish via the lab Redfish service), and the VM PXE-boots from the lab agent. Prints each
 * machine's timeline and ends with `power: ipmi ok, redfish ok, lab <n> machines booted`. Exits
 * non-zero when a step is missing, power off does not take, or `lab down` leaves anything behind.
 * (The driver tests against `ipmi_sim` and the Redfish service run with `pnpm test`.)
 */
import { POWER_BOOT_STEPS, powerBootOrder, runLabPower } from '../harness/lab-power.ts';

let failed = false;
const verdict = new Map<string, string>([
  ['ipmi', 'failed'],
  ['redfish', 'failed'],
]);
let booted = 0;
try {
  const result = await runLabPower(2);
  process.stdout.write(result.upOutput);
  for (const b of result.boots) {
    const t0 = b.events[0]?.occurred_at ?? '';
    process.stdout.write(`\n${b.name} (${b.power}): machine ${b.machineId}\n`);
    for (const e of b.events) {
      if (e.kind !== 'step') continue;
      const dt = (Date.parse(e.occurred_at ?? t0) - Date.parse(t0)) / 1000;
      process.stdout.write(
        `  +${dt.toFixed(1).padStart(5)} s  ${e.step.padEnd(14)} ${e.result.padEnd(9)} ${e.message}\n`,
      );
    }
    const order = powerBootOrder(b.steps);
    const ok = order.join(',') === POWER_BOOT_STEPS.join(',') && b.poweredOff;
    if (order.includes('boot.kernel')) booted++;
    if (!ok) {
      failed = true;
      process.stdout.write(`  FAILED: steps ${order.join(' → ')}, powered off: ${b.poweredOff}\n`);
    }
    if (ok && verdict.get(b.power) === 'failed') verdict.set(b.power, 'ok');
  }
  process.stdout.write(`\n${result.statusOutput}${result.downOutput}`);
  if (result.leftovers.length > 0) {
    failed = true;
    process.stdout.write(`left behind after lab down: ${result.leftovers.join(', ')}\n`);
  }
} catch (error) {
  failed = true;
  process.stderr.write(
    `e2e:power failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
}
if ([...verdict.values()].some((v) => v !== 'ok')) failed = true;
process.stdout.write(
  `power: ipmi ${verdict.get('ipmi') ?? 'failed'}, redfish ${verdict.get('redfish') ?? 'failed'}, lab ${booted} machines booted\n`,
);
process.exitCode = failed ? 1 : 0;
