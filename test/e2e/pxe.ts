/**
 * `pnpm e2e:pxe`: QEMU with SeaBIOS + iPXE and with OVMF PXE-boots from one Ingot agent; prints
 * each boot's timeline and ends with `pxe: bios <s> s, uefi <s> s (DHCP→kernel start)`. Exits
 * non-zero when a boot fails or a step is missing.
 */
import { PXE_STEPS, pxeBoot, startPxeSite, type PxeBootResult } from '../harness/pxe.ts';

const site = await startPxeSite();
const results: PxeBootResult[] = [];
let failed = false;
try {
  for (const [firmware, mac] of [
    ['bios', '52:54:00:31:00:01'],
    ['uefi', '52:54:00:31:00:02'],
  ] as const) {
    const r = await pxeBoot(site, firmware, mac);
    results.push(r);
    const t0 = r.events[0]?.occurred_at ?? '';
    process.stdout.write(
      `\n${firmware}: machine ${r.machineId}, ${r.routerAdvertisements} RAs seen\n`,
    );
    for (const e of r.events) {
      if (e.kind !== 'step') continue;
      const dt = (Date.parse(e.occurred_at ?? t0) - Date.parse(t0)) / 1000;
      process.stdout.write(
        `  +${dt.toFixed(1).padStart(5)} s  ${e.step.padEnd(14)} ${e.result.padEnd(9)} ${e.message}\n`,
      );
    }
    const missing = PXE_STEPS.filter((s) => !r.steps.includes(s));
    if (missing.length > 0) {
      failed = true;
      process.stdout.write(`  MISSING: ${missing.join(', ')}\n`);
    }
  }
} catch (error) {
  failed = true;
  process.stderr.write(
    `e2e:pxe failed: ${error instanceof Error ? error.message : String(error)}\n${site.agentOutput().slice(-3000)}\n`,
  );
} finally {
  await site.close();
}
const seconds = (f: string): string => {
  const r = results.find((x) => x.firmware === f);
  return r === undefined ? 'failed' : (r.dhcpToKernelMs / 1000).toFixed(1);
};
process.stdout.write(
  `pxe: bios ${seconds('bios')} s, uefi ${seconds('uefi')} s (DHCP→kernel start)\n`,
);
process.exitCode = failed ? 1 : 0;
