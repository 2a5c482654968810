/**
 * The fleet simulator end to end (issue 7 item 4): 20 simulated machines, 10 at a time, PXE-boot
 * (DHCP, TFTP, iPXE over HTTP), install and reboot through one real rack agent in a network
 * namespace and one real controller. Every machine must end `deployed` with each installer step
 * reported once, and no address may be given to two machines.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFleetNetwork,
  startFleet,
  type DeployOutcome,
  type Fleet,
  type FleetNetwork,
} from '@ingot/fleet-sim';
import { api, type EventJson } from './harness/api.ts';
import { startControllerProc, tempDir, type ControllerProc } from './harness/processes.ts';

const MACHINES = 20;
const CONCURRENCY = 10;
const INSTALL_STEPS = [
  'installer.config',
  'install.storage',
  'install.image',
  'install.bootloader',
  'install.cloud-init',
  'install.customise',
  'install.reboot',
];

describe('fleet simulator: 20 machines through one agent', () => {
  const work = tempDir('fleet-e2e');
  let net: FleetNetwork | undefined;
  let controller: ControllerProc | undefined;
  let fleet: Fleet | undefined;
  let outcomes: DeployOutcome[] = [];

  beforeAll(async () => {
    net = await createFleetNetwork('e2e');
    controller = await startControllerProc({
      dataDir: join(work.path, 'controller'),
      host: net.controllerHost,
    });
    fleet = await startFleet({
      network: net,
      controllers: [{ url: controller.url, grpc: controller.grpc }],
      adminKey: controller.adminKey,
      machines: MACHINES,
    });
    outcomes = await fleet.deploy(undefined, { concurrency: CONCURRENCY, timeoutMs: 150_000 });
  }, 240_000);

  afterAll(async () => {
    await fleet?.close();
    await controller?.stop();
    await net?.cleanup();
    work.cleanup();
  });

  it('deploys every machine', () => {
    expect(outcomes.map((o) => `${o.id} ${o.status} ${o.error ?? ''}`.trim())).toEqual(
      outcomes.map((o) => `${o.id} deployed`),
    );
  });

  it('records each installer step once per machine, and one transition to deployed', async () => {
    for (const m of fleet?.machines ?? []) {
      const events = (
        await api<EventJson[]>(
          controller!.url,
          controller!.adminKey,
          'GET',
          `/api/v1/machines/${m.id}/events?limit=1000`,
        )
      ).body;
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      const succeeded = (step: string): number =>
        events.filter((e) => e.step === step && e.result === 'succeeded').length;
      expect(Object.fromEntries(INSTALL_STEPS.map((s) => [s, succeeded(s)]))).toEqual(
        Object.fromEntries(INSTALL_STEPS.map((s) => [s, 1])),
      );
      expect(succeeded('power.on')).toBe(1);
      // The agent saw the ephemeral environment loaded once (the second boot is the local disk).
      expect([succeeded('boot.kernel'), succeeded('boot.initrd')]).toEqual([1, 1]);
      const transitions = events.filter((e) => e.kind === 'transition').map((e) => e.to_status);
      expect(transitions.filter((s) => s === 'deployed')).toHaveLength(1);
      expect(transitions.at(-1)).toBe('deployed');
    }
  });

  it('booted each machine from the network to install, rebooted once, then booted its disk', () => {
    for (const m of fleet?.machines ?? []) {
      const timeline = fleet!.timeline(m.id);
      const steps = timeline.map((t) => t.step);
      // A boot the firmware retried (iPXE's `sleep 10; reboot` after a failed fetch) is allowed;
      // the installer ran to its reboot exactly once, and the last boot brought the OS up.
      const retried = timeline
        .filter((t) => t.step === 'boot.error')
        .map((t) => JSON.stringify(t.detail));
      expect(steps.filter((s) => s === 'boot').length - retried.length, retried.join('; ')).toBe(2);
      expect(steps.filter((s) => s === 'reboot')).toHaveLength(1);
      expect(steps.slice(steps.lastIndexOf('boot'))).toContain('os.up');
      expect(steps.filter((s) => s === 'os.up')).toHaveLength(1);
      expect(steps).not.toContain('event-lost');
    }
  });

  it('gives no address to two machines (simulator and controller agree)', async () => {
    const owner = new Map<string, string>();
    for (const [id, ips] of fleet!.addresses()) {
      expect(ips.size).toBe(1);
      for (const ip of ips) {
        expect(owner.get(ip) ?? id).toBe(id);
        owner.set(ip, id);
      }
    }
    expect(owner.size).toBe(MACHINES);
    const acks = (
      await api<(EventJson & { data: { ip?: string } })[]>(
        controller!.url,
        controller!.adminKey,
        'GET',
        '/api/v1/events?limit=10000',
      )
    ).body.filter((e) => e.step === 'dhcp.ack' && e.machine_id !== null);
    for (const e of acks) expect(owner.get(e.data.ip ?? '')).toBe(e.machine_id);
  });
});
