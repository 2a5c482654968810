import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
/* See redfish.test.ts: the lab service lives in test/ (package @ingot/e2e). */
import { FakeMachine } from '@ingot/lab/redfish/machine.ts';
import { startRedfishService, type RedfishService } from '@ingot/lab/redfish/service.ts';

/** Debian's interpreter: `python3-sushy` is installed for it, not for a pyenv `python3`. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(
  new URL('../../../../lab/src/redfish/sushy-check.py', import.meta.url),
);

/** Whether Debian's python3-sushy is importable (apt-get install python3-sushy). */
function haveSushy(): Promise<boolean> {
  if (!existsSync(PYTHON)) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile(PYTHON, ['-c', 'import sushy'], (error) => resolve(error === null));
  });
}

interface Step {
  readonly step: string;
  readonly power: string | null;
  readonly boot: { enabled: string | null; target: string | null; mode: string | null };
}

function runSushy(args: readonly string[]): Promise<Step[]> {
  return new Promise((resolve, reject) => {
    // requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's `verify` path
    // (psf/requests#3829), so drop them to make sushy trust the lab certificate.
    const env = { ...process.env };
    delete env['REQUESTS_CA_BUNDLE'];
    delete env['CURL_CA_BUNDLE'];
    const options = { timeout: 60_000, env };
    execFile(PYTHON, [SCRIPT, ...args], options, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`sushy-check failed: ${error.message}\n${stderr}`));
        return;
      }
      resolve(
        stdout
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Step),
      );
    });
  });
}

const sushyPresent = await haveSushy();

// Skip reason: the check needs Debian's python3-sushy (test/lab/debian-packages.txt); CI installs it.
describe.skipIf(!sushyPresent && process.env.CI === undefined)(
  'lab Redfish service checked with python3-sushy',
  () => {
    let service: RedfishService | undefined;
    afterEach(async () => {
      await service?.close();
      service = undefined;
    });

    it.each([
      ['session', true],
      ['basic', true],
      ['session', false],
    ] as const)(
      'sushy (%s auth, TLS %s) reads, overrides boot once and resets',
      async (mode, tls) => {
        const machine = new FakeMachine('Off');
        service = await startRedfishService({
          systems: { 'node-1': machine },
          username: 'admin',
          password: 'sushy-pw',
          tls,
        });
        const cert = tls ? service.certificatePath! : 'insecure';
        const steps = await runSushy([service.url, 'admin', 'sushy-pw', mode, cert]);

        expect(
          steps.map((s) => [s.step, s.power, s.boot.enabled, s.boot.target, s.boot.mode]),
        ).toEqual([
          ['read', 'Off', 'Disabled', 'None', 'Legacy'],
          ['boot-once-pxe', 'Off', 'Once', 'Pxe', 'Legacy'],
          ['reset-on', 'On', 'Disabled', 'Pxe', 'Legacy'],
          ['reset-force-off', 'Off', 'Disabled', 'Pxe', 'Legacy'],
          ['boot-once-pxe-uefi', 'Off', 'Once', 'Pxe', 'UEFI'],
          ['reset-force-restart', 'On', 'Disabled', 'Pxe', 'UEFI'],
        ]);
        // The machine did what sushy asked, and the once-overrides were used once each.
        expect(machine.resets).toEqual(['On', 'ForceOff', 'ForceRestart']);
        expect(machine.boots).toEqual([
          { reset: 'On', from: 'Pxe', mode: 'Legacy' },
          { reset: 'ForceRestart', from: 'Pxe', mode: 'UEFI' },
        ]);
        const auths = new Set(service.requests.filter((r) => r.auth !== 'none').map((r) => r.auth));
        expect([...auths]).toEqual([mode === 'session' ? 'token' : 'basic']);
        expect(service.requests.filter((r) => r.status >= 400)).toEqual([]);
      },
    );
  },
);
