/**
 * Enlistment (DESIGN.md §2): an unknown MAC that network-boots becomes a `new` machine with the
 * architecture its firmware announced (DHCP option 93, mapped by the rack).
 */
import type { NewEvent } from '../domain/event.ts';
import {
  ARCHITECTURES,
  normalizeMac,
  type Architecture,
  type Machine,
} from '../domain/machine/machine.ts';
import { actorName } from './actor.ts';
import { shortId, uuid } from './ids.ts';
import type { Store } from './ports.ts';

/** The step a rack reports for an unknown MAC that asked to boot. */
export const ENLIST_STEP = 'enlist';

function architecture(value: unknown): Architecture {
  return typeof value === 'string' && (ARCHITECTURES as readonly string[]).includes(value)
    ? (value as Architecture)
    : 'amd64';
}

/**
 * Creates a `new` machine for `mac` on `rackId` inside `tx`, unless one exists (re-delivered or
 * repeated reports enlist once). Returns the machine id and the events to store.
 */
export async function enlist(
  tx: Store,
  input: { mac: string; arch: unknown; rackId: string; nowMs: number },
): Promise<{ machineId: string; events: NewEvent[] } | undefined> {
  const mac = normalizeMac(input.mac);
  if (mac === null) return undefined;
  const existing = await tx.getMachineByMac(mac);
  if (existing !== undefined) return { machineId: existing.id, events: [] };
  let id = shortId();
  while ((await tx.getMachine(id)) !== undefined) id = shortId();
  const machine: Omit<Machine, 'version' | 'updatedAtMs'> = {
    id,
    hostname: `machine-${id}`,
    status: 'new',
    arch: architecture(input.arch),
    cpuCount: 0,
    memoryMib: 0,
    storageGib: 0,
    macs: [mac],
    tags: [],
    zone: 'default',
    pool: 'default',
    ownerId: null,
    locked: false,
    rackId: input.rackId,
    power: null,
    powerState: 'unknown',
    powerSeenAtMs: null,
    deployment: null,
    statusMessage: 'Enlisted by network boot',
    statusDeadlineMs: null,
    lastStep: null,
    bootPurpose: null,
    createdAtMs: input.nowMs,
  };
  await tx.insertMachine(machine);
  const event: NewEvent = {
    id: uuid(),
    kind: 'transition',
    machineId: id,
    rackId: input.rackId,
    step: ENLIST_STEP,
    result: 'succeeded',
    fromStatus: null,
    toStatus: 'new',
    actor: actorName({ kind: 'rack', rackId: input.rackId }),
    message: `Enlisted ${mac} (${machine.arch}) after it network-booted`,
    data: { mac, arch: machine.arch },
    occurredAtMs: input.nowMs,
  };
  return { machineId: id, events: [event] };
}
