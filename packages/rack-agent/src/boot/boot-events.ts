/**
 * Boot fetches as status events (DESIGN.md §3 steps 4–9, §5 "every request a machine makes is
 * an event"). TFTP and HTTP boot report fetches as {@link BootFetch} values; one sink turns them
 * into `boot.*` events, so both protocols word them the same way.
 */
import { BOOT_FETCH_STEPS, type BootFetchStep, type Logger } from '@ingot/common';
import type { NewStatusEvent } from '../events/event-recorder.ts';

/** Event steps a boot fetch can stand for (DESIGN.md §3; shared with the controller). */
export const BOOT_STEPS = BOOT_FETCH_STEPS;
/** One of {@link BOOT_STEPS}. */
export type BootStep = BootFetchStep;

/**
 * One observed fetch by a known machine. Generated configs report `succeeded` once rendered
 * and sent; files report `started` when byte 0 goes out and `succeeded` when the last byte has
 * been written (so a client fetching in ranges still yields one pair), or `failed` when the
 * client went away mid-transfer.
 */
export interface BootFetch {
  readonly machineId: string;
  readonly step: BootStep;
  /** Normalised path, no query string (it never carries secrets, but stays short). */
  readonly path: string;
  readonly protocol: 'tftp' | 'http';
  readonly result: 'started' | 'succeeded' | 'failed';
  /** Bytes sent so far in this transfer; the file size on `started`. */
  readonly bytes: number;
}

/** Receives boot fetches; must not throw and must return quickly (it runs on the I/O path). */
export type BootFetchListener = (fetch: BootFetch) => void;

/** A listener that drops everything: for adapters run without events (benchmarks, tests). */
export const ignoreBootFetches: BootFetchListener = () => undefined;

const MESSAGES: Readonly<Record<BootStep, string>> = {
  'boot.nbp': 'Performing PXE boot',
  'boot.config': 'Boot config sent',
  'boot.kernel': 'Loading kernel',
  'boot.initrd': 'Loading initrd',
  'boot.squashfs': 'Loading ephemeral',
};

/** Narrows a resolver's open `step` string to a {@link BootStep}. */
export function asBootStep(step: string | undefined): BootStep | undefined {
  return BOOT_STEPS.find((known) => known === step);
}

/**
 * Creates the listener the agent wires to its event recorder: each fetch becomes one status
 * event with `data: { path, protocol, bytes }`. A recorder failure (disk full) is logged, never
 * thrown into the transfer: serving the machine matters more than reporting it.
 */
export function createBootEventSink(
  record: (event: NewStatusEvent) => unknown,
  logger: Logger,
): BootFetchListener {
  return (fetch) => {
    const what = fetch.result === 'failed' ? 'interrupted' : fetch.result;
    try {
      record({
        machineId: fetch.machineId,
        step: fetch.step,
        result: fetch.result,
        message: `${MESSAGES[fetch.step]}: ${fetch.path} ${what} (${fetch.protocol})`,
        data: { path: fetch.path, protocol: fetch.protocol, bytes: fetch.bytes },
      });
    } catch (error: unknown) {
      logger.error('boot event not recorded', {
        machine_id: fetch.machineId,
        step: fetch.step,
        path: fetch.path,
        error,
      });
    }
  };
}
