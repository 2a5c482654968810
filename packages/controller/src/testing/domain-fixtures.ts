/** Builders of domain values for tests: complete, valid, and easy to override. */
import { randomBytes } from 'node:crypto';
import type { NewMachine } from '../app/ports.ts';
import type { RackStepEvent } from '../app/rack-service.ts';
import type { NewEvent } from '../domain/event.ts';
import type { RackCommandBody } from '../domain/rack.ts';
import type { User } from '../domain/user.ts';

// Random rather than counted, so fixtures keep no module state: 40 random bits make a clash
// among a test's few thousand values about one in a million.
function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** A random, locally administered MAC address, `02:xx:xx:xx:xx:xx`. */
export function uniqueMac(): string {
  const hex = randomHex(5);
  return ['02', ...[0, 2, 4, 6, 8].map((i) => hex.slice(i, i + 2))].join(':');
}

/**
 * A `ready`, unowned, unlocked machine with one unique MAC. MACs and tags are sorted, as the
 * store returns them, so a round trip compares equal.
 */
export function newMachine(overrides: Partial<NewMachine> = {}): NewMachine {
  const id = overrides.id ?? `m${randomHex(5)}`;
  return {
    id,
    hostname: `host-${id}`,
    status: 'ready',
    arch: 'amd64',
    cpuCount: 4,
    memoryMib: 8192,
    storageGib: 100,
    macs: [uniqueMac()],
    tags: [],
    zone: 'default',
    pool: 'default',
    ownerId: null,
    locked: false,
    rackId: null,
    power: null,
    powerState: 'unknown',
    powerSeenAtMs: null,
    deployment: null,
    statusMessage: 'Ready',
    statusDeadlineMs: null,
    lastStep: null,
    bootPurpose: null,
    createdAtMs: Date.UTC(2026, 0, 1),
    ...overrides,
  };
}

/** An audit event about `machineId` (or nothing), with a unique id unless given. */
export function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  return {
    id: `event-${randomHex(8)}`,
    kind: 'audit',
    machineId: null,
    rackId: null,
    step: 'test',
    result: 'succeeded',
    fromStatus: null,
    toStatus: null,
    actor: 'system',
    message: 'test event',
    data: {},
    occurredAtMs: Date.UTC(2026, 0, 1),
    ...overrides,
  };
}

/** A user with a unique id. */
export function newUser(overrides: Partial<User> = {}): User {
  const n = randomHex(5);
  return {
    id: `user-${n}`,
    username: `user${n}`,
    role: 'user',
    createdAtMs: Date.UTC(2026, 0, 1),
    ...overrides,
  };
}

/** A boot-plan command body for `machineId`. */
export function bootPlanBody(machineId: string, purpose = 'install'): RackCommandBody {
  return {
    kind: 'boot-plan',
    machineId,
    macs: [],
    purpose,
    os: 'debian',
    release: 'bookworm',
    arch: 'amd64',
    hostname: `host-${machineId}`,
    version: 1,
  };
}

/** A step event as a rack reports it, about `machineId`, with a unique id unless given. */
export function rackStep(
  machineId: string,
  step: string,
  result: RackStepEvent['result'] = 'succeeded',
  overrides: Partial<RackStepEvent> = {},
): RackStepEvent {
  return {
    id: `rack-event-${randomHex(8)}`,
    machineId,
    mac: '',
    step,
    result,
    message: `${step} ${result}`,
    occurredAtMs: Date.UTC(2026, 0, 1),
    data: {},
    ...overrides,
  };
}
