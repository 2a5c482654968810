/**
 * Rack autonomy (issue 7, must-show "Autonomy"): with the controller stopped, a machine the agent
 * already has a boot plan for still PXE-boots from the agent alone — DHCP lease, iPXE boot config,
 * kernel, initrd and squashfs over HTTP — and the agent keeps the boot events it records durably.
 * When the controller comes back on the same data directory, the agent delivers them: each
 * exactly once, in the order the machine made them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVm } from '@ingot/lab/qemu.ts';
import { api, type EventJson, type MachineJson } from './harness/api.ts';
import { startControllerProc, waitFor, type ControllerProc } from './harness/processes.ts';
import { PXE_STEPS, startPxeSite, type PxeSite } from './harness/pxe.ts';
import { TEST_ENV_MARKER } from './lab/initramfs.ts';
import { parsePrometheusText, sampleValue } from './harness/prometheus-text.ts';

const MAC = '52:54:00:31:00:71';

interface RackJson {
  id: string;
  status: string;
  health: { outbox_depth: number; boot_plans: number } | null;
}

function portOf(address: string): number {
  return Number(address.split(':').at(-1));
}

function hostOf(url: string): string {
  return new URL(url).hostname;
}

async function machineEvents(controller: ControllerProc, id: string): Promise<EventJson[]> {
  const r = await api<EventJson[]>(
    controller.url,
    controller.adminKey,
    'GET',
    `/api/v1/machines/${id}/events?limit=1000`,
  );
  if (r.status !== 200) throw new Error(`events: ${r.status}`);
  return r.body;
}

/** The agent's outbox depth and session state, from its own `/metrics`. */
async function agentGauges(site: PxeSite): Promise<{ outbox: number; sessionUp: number }> {
  const res = await fetch(`http://${site.lab.uplink?.labAddress ?? ''}:5248/metrics`);
  if (res.status !== 200) throw new Error(`agent /metrics: ${res.status}`);
  const families = parsePrometheusText(await res.text());
  return {
    outbox: sampleValue(families, 'ingot_outbox_events'),
    sessionUp: sampleValue(families, 'ingot_controller_session_up'),
  };
}

async function rack(controller: ControllerProc): Promise<RackJson | undefined> {
  const r = await api<RackJson[]>(controller.url, controller.adminKey, 'GET', '/api/v1/racks');
  return r.body[0];
}

describe('rack autonomy', () => {
  let site: PxeSite;
  /** The controller now running (the restarted one once the test restarts it). */
  let controller: ControllerProc;
  beforeAll(async () => {
    site = await startPxeSite();
    controller = site.controller;
  }, 120_000);
  afterAll(async () => {
    // Either may be unset when beforeAll failed.
    await (controller as ControllerProc | undefined)?.stop();
    await (site as PxeSite | undefined)?.close();
  });

  it('a known machine PXE-boots with the controller stopped; its events arrive once it is back', async () => {
    // A machine with a boot plan: deployed with the test image (manual power: the test powers it).
    const created = await api<MachineJson>(
      controller.url,
      controller.adminKey,
      'POST',
      '/api/v1/machines',
      {
        hostname: 'autonomous',
        macs: [MAC],
        commission: false,
        power: { type: 'manual', params: {} },
      },
    );
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(
      (await api(controller.url, site.userKey, 'POST', '/api/v1/machines/allocate', { name: id }))
        .status,
    ).toBe(200);
    expect(
      (
        await api(controller.url, site.userKey, 'POST', `/api/v1/machines/${id}/deploy`, {
          os: 'ingot-test',
          release: 'busybox',
        })
      ).status,
    ).toBe(202);
    await waitFor('power.on from the rack', async () =>
      (await machineEvents(controller, id)).some(
        (e) => e.step === 'power.on' && e.result === 'succeeded',
      )
        ? true
        : undefined,
    );
    // The agent holds the plan and has nothing left to deliver.
    await waitFor('the plan at the agent, an empty outbox', async () => {
      const r = await rack(controller);
      return r?.health !== null &&
        r?.health !== undefined &&
        r.health.boot_plans >= 1 &&
        r.health.outbox_depth === 0
        ? true
        : undefined;
    });
    const before = new Set((await machineEvents(controller, id)).map((e) => e.id));

    // Stop the controller (SIGKILL of the process this test started, by PID).
    const { dataDir, host, httpPort, grpcPort } = {
      dataDir: join(site.workDir, 'controller'),
      host: hostOf(controller.url),
      httpPort: portOf(controller.url),
      grpcPort: portOf(controller.grpc),
    };
    controller.signal('SIGKILL');
    await controller.exited;
    const stoppedAt = Date.now();
    await expect(fetch(`${controller.url}/api/v1/racks`)).rejects.toThrow();

    // The machine PXE-boots from the agent alone.
    const vm = await startVm({
      lab: site.lab,
      name: 'autonomy',
      mac: MAC,
      firmware: 'bios',
      workDir: join(site.workDir, 'vms'),
    });
    let serial: string;
    try {
      await vm.waitForSerial(new RegExp(TEST_ENV_MARKER), 150_000);
      await vm.waitForSerial(/posted install\.reboot info/, 30_000);
      serial = vm
        .serialLines()
        .map((l) => l.text)
        .join('\n');
    } finally {
      await vm.stop();
    }
    // The boot config the agent rendered from its stored plan: this machine's id and agent URL
    // on the kernel command line, and the plan's squashfs, byte for byte.
    expect(serial).toContain(`machine=${id} url=http://172.31.0.1:5248`);
    expect(serial).toMatch(/address 172\.31\.0\.1\d\d\//);
    expect(serial).toContain(`sha256 ${site.env.squashfsSha256}`);
    // The agent accepted the machine's own reports while the controller was down.
    expect(serial).toContain('posted boot.squashfs succeeded');

    // The agent holds what it recorded, undelivered, with no session to the controller.
    const away = await agentGauges(site);
    expect(away.sessionUp).toBe(0);
    expect(away.outbox).toBeGreaterThanOrEqual(10);
    const restartedAt = Date.now();

    // The controller returns on the same data directory and ports.
    controller = await startControllerProc({
      dataDir,
      host,
      httpPort,
      grpcPort,
      args: ['--deploy-timeout', '10m'],
    });
    await waitFor(
      'the boot events at the controller',
      async () =>
        (await machineEvents(controller, id)).some((e) => e.step === 'install.reboot')
          ? true
          : undefined,
      60_000,
    );
    await waitFor('the agent’s outbox drained', async () => {
      const g = await agentGauges(site);
      return g.sessionUp === 1 && g.outbox === 0 ? true : undefined;
    });
    const stored = await machineEvents(controller, id);
    expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
    // Everything before the stop was delivered once only; what came since is at most what the
    // agent buffered (the rest are its lease records).
    expect(stored.filter((e) => before.has(e.id))).toHaveLength(before.size);
    const fresh = stored.filter((e) => !before.has(e.id));
    expect(fresh.length).toBeLessThanOrEqual(away.outbox);
    const boot = fresh.filter((e) => e.kind === 'step');
    // Recorded while the controller was away.
    for (const e of boot) {
      const at = Date.parse(e.occurred_at ?? '');
      expect(at).toBeGreaterThanOrEqual(stoppedAt - 1000);
      expect(at).toBeLessThanOrEqual(restartedAt + 1000);
    }
    // The boot in the order the machine made it: DHCP, its iPXE config, kernel, initrd, squashfs,
    // then its report from userspace.
    const steps: string[] = [];
    for (const e of boot) if (!steps.includes(e.step)) steps.push(e.step);
    expect(steps).toEqual([...PXE_STEPS, 'install.reboot']);
    // Each exactly once, in order: one iPXE config, each file once (started, then its last
    // byte), the squashfs the machine reports having, then its report from userspace. DHCP acks
    // (iPXE's, then the kernel's udhcpc) are as many as the machine asked for.
    expect(boot[0]?.step).toBe('dhcp.ack');
    expect(boot.filter((e) => e.step !== 'dhcp.ack').map((e) => `${e.step}:${e.result}`)).toEqual([
      'boot.config:succeeded',
      'boot.kernel:started',
      'boot.kernel:succeeded',
      'boot.initrd:started',
      'boot.initrd:succeeded',
      'boot.squashfs:started',
      'boot.squashfs:succeeded',
      'boot.squashfs:succeeded',
      'install.reboot:info',
    ]);
    const reported = boot.filter((e) => e.step === 'boot.squashfs' && e.result === 'succeeded');
    expect(reported[1]?.message).toContain(`sha256 ${site.env.squashfsSha256}`);
    expect(boot.map((e) => e.seq)).toEqual([...boot.map((e) => e.seq)].sort((a, b) => a - b));
  }, 240_000);
});
