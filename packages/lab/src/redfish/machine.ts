/**
 * The machines behind the lab Redfish service: what a reset does and what the power state is.
 * The service keeps the Redfish resources (boot override, sessions); a machine only powers.
 *
 * - {@link FakeMachine}: in memory, for unit tests; records every boot and what it booted from.
 * - {@link createQmpMachine}: a lab QEMU VM over QMP. See README.md for the VM's power model.
 */

/** `ComputerSystem.PowerState` values the lab reports. */
export type RedfishPowerState = 'On' | 'Off';

/** `ComputerSystem.Reset` types the lab accepts. */
export const RESET_TYPES = ['On', 'ForceOff', 'ForceRestart', 'GracefulShutdown'] as const;
/** One of {@link RESET_TYPES}. */
export type RedfishResetType = (typeof RESET_TYPES)[number];

/** The boot source override in force for a boot the machine is about to do. */
export interface BootOverride {
  /** `BootSourceOverrideTarget` (`Pxe`, `Hdd`, …). */
  readonly target: string;
  /** `BootSourceOverrideMode` (`UEFI`, `Legacy`) or undefined when not set. */
  readonly mode: string | undefined;
}

/** A machine the service powers. */
export interface RedfishMachine {
  powerState(): Promise<RedfishPowerState>;
  /**
   * Performs a reset. `override` is set when the reset boots the machine (On from off,
   * ForceRestart) and a boot source override is enabled.
   */
  reset(type: RedfishResetType, override: BootOverride | undefined): Promise<void>;
}

/** One boot of a {@link FakeMachine}. */
export interface FakeBoot {
  readonly reset: RedfishResetType;
  /** The override target it booted from, or `default` (firmware boot order). */
  readonly from: string;
  readonly mode: string | undefined;
}

/** An in-memory machine: resets change `state` at once and append to `boots`. */
export class FakeMachine implements RedfishMachine {
  /** Current power state; tests may set it. */
  state: RedfishPowerState;
  /** Every boot, oldest first. */
  readonly boots: FakeBoot[] = [];
  /** Every reset asked for, oldest first. */
  readonly resets: RedfishResetType[] = [];
  /** When false, `GracefulShutdown` is ignored (a guest without ACPI support). */
  gracefulShutdownWorks = true;

  constructor(state: RedfishPowerState = 'Off') {
    this.state = state;
  }

  powerState(): Promise<RedfishPowerState> {
    return Promise.resolve(this.state);
  }

  reset(type: RedfishResetType, override: BootOverride | undefined): Promise<void> {
    this.resets.push(type);
    const boot = (): void => {
      this.state = 'On';
      this.boots.push({ reset: type, from: override?.target ?? 'default', mode: override?.mode });
    };
    switch (type) {
      case 'On':
        if (this.state === 'Off') boot();
        break;
      case 'ForceRestart':
        boot();
        break;
      case 'ForceOff':
        this.state = 'Off';
        break;
      case 'GracefulShutdown':
        if (this.gracefulShutdownWorks) this.state = 'Off';
        break;
    }
    return Promise.resolve();
  }
}

/** Sends one QMP command and returns its `return` value (`Vm.qmp` of `../qemu.ts` fits). */
export type QmpSend = (command: string, args?: Record<string, unknown>) => Promise<unknown>;

/** QMP run states after which QEMU refuses `cont` until a `system_reset`. */
const NEEDS_RESET = new Set(['shutdown', 'guest-panicked', 'internal-error']);

/**
 * A lab VM over QMP. The VM must run with `-no-shutdown` (a guest power-off leaves QEMU in
 * state `shutdown` instead of exiting) and should start with `-S` (off until powered on):
 *
 * - state: `running` (or `suspended`) is On, every other run state is Off;
 * - On: `system_reset`, wait until the reset is done, `cont` (a fresh boot from firmware);
 * - ForceOff: `stop`, then `system_reset` so the next On boots from firmware;
 * - ForceRestart: `system_reset` when running, else On;
 * - GracefulShutdown: `system_powerdown` (ACPI; the guest decides).
 *
 * The override is not applied: lab VMs network-boot first (`bootindex=1` on the NIC), so `Pxe`
 * is what they do anyway. A QEMU that has quit cannot be powered on: QMP is gone with it.
 */
export function createQmpMachine(send: QmpSend, options: { resetWaitMs?: number } = {}) {
  const status = async (): Promise<{ running: boolean; status: string }> => {
    const value = await send('query-status');
    if (typeof value !== 'object' || value === null) throw new Error('bad query-status reply');
    const running = Reflect.get(value, 'running') === true;
    const runStatus: unknown = Reflect.get(value, 'status');
    return { running, status: typeof runStatus === 'string' ? runStatus : 'unknown' };
  };
  const isOn = (s: { running: boolean; status: string }): boolean =>
    s.running || s.status === 'suspended';
  const powerOn = async (): Promise<void> => {
    await send('system_reset');
    // The reset is handled by QEMU's main loop after the command returns; `cont` before it
    // would fail in state `shutdown`.
    const deadline = Date.now() + (options.resetWaitMs ?? 5000);
    while (NEEDS_RESET.has((await status()).status)) {
      if (Date.now() > deadline) throw new Error('QEMU stays in state shutdown (-no-reboot?)');
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!(await status()).running) await send('cont');
  };
  const machine: RedfishMachine = {
    powerState: async () => (isOn(await status()) ? 'On' : 'Off'),
    async reset(type) {
      const on = isOn(await status());
      switch (type) {
        case 'On':
          if (!on) await powerOn();
          return;
        case 'ForceRestart':
          if (on) await send('system_reset');
          else await powerOn();
          return;
        case 'ForceOff':
          if (on) await send('stop');
          await send('system_reset');
          return;
        case 'GracefulShutdown':
          if (on) await send('system_powerdown');
          return;
      }
    },
  };
  return machine;
}
