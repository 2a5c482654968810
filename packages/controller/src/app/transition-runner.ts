/**
 * Carries out one lifecycle transition: decide (pure table), then in one transaction write the new
 * status with a compare-and-set on the machine's version, record the transition event, and queue
 * the rack commands its effects ask for. Commands live in the store until the rack acknowledges
 * them, so a controller restart loses none (DESIGN.md §4).
 */
import { err, ok, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { NewEvent } from '../domain/event.ts';
import {
  resolveBootPurpose,
  transition,
  type BootPurpose,
  type Effect,
  type MachineAction,
} from '../domain/machine/lifecycle.ts';
import type { DeploymentChoice, Machine } from '../domain/machine/machine.ts';
import { NO_NOTES } from '../domain/machine/allocation-notes.ts';
import type { RackCommandBody } from '../domain/rack.ts';
import { COMMISSIONING_IMAGE, type BootResourceFile } from '../domain/image/boot-resource.ts';
import { actorName, type Actor } from './actor.ts';
import { uuid } from './ids.ts';
import { newMetadataToken, sealQueuedToken } from './metadata-token.ts';
import type { SecretBox } from './secret-box.ts';
import { TOKEN_PURPOSES } from '../domain/metadata/token.ts';
import type { MachinePatch, Store } from './ports.ts';

/** How long each busy status may last before it times out (DESIGN.md §2). */
export interface StatusTimeouts {
  readonly commissioningMs: number;
  readonly deployingMs: number;
  readonly releasingMs: number;
}

/** The default: 30 minutes each. */
export const DEFAULT_TIMEOUTS: StatusTimeouts = {
  commissioningMs: 30 * 60_000,
  deployingMs: 30 * 60_000,
  releasingMs: 30 * 60_000,
};

/** What the caller adds to a transition. */
export interface TransitionInput {
  readonly action: MachineAction;
  readonly actor: Actor;
  /** Why, for the event and the machine's status message. */
  readonly message: string;
  readonly ownerId?: string | undefined;
  readonly deployment?: DeploymentChoice | undefined;
  /** Extra patch applied with the transition (e.g. hardware facts from commissioning). */
  readonly patch?: MachinePatch | undefined;
  readonly data?: Record<string, unknown> | undefined;
}

/** The outcome: the machine as stored, the events written, and racks with new commands. */
export interface TransitionOutcome {
  readonly machine: Machine;
  readonly events: NewEvent[];
  readonly racksToNotify: string[];
}

/**
 * Applies `input.action` to `machine` inside `tx`. Returns `stale` when another writer changed
 * the machine first (the caller reloads and retries), and `no-rack` when the effects need a rack
 * and none serves the machine. Metadata tokens in the boot plans it queues are sealed with
 * `secrets` (opened only when sent to the rack, `rpc/convert.ts`).
 */
export async function runTransition(
  tx: Store,
  machine: Machine,
  input: TransitionInput,
  nowMs: number,
  timeouts: StatusTimeouts,
  secrets: SecretBox,
): Promise<Result<TransitionOutcome, DomainError>> {
  const decided = transition(machine.status, input.action, machine.locked);
  if (!decided.ok) {
    const e = decided.error;
    return err(
      e.kind === 'locked'
        ? { kind: 'locked', machineId: machine.id, action: e.action }
        : {
            kind: 'invalid-transition',
            machineId: machine.id,
            status: e.status,
            action: e.action,
            allowed: e.allowed,
          },
    );
  }
  const { to, effects } = decided.value;
  const needsRack = effects.some((e) => e.kind === 'power' || e.kind === 'set-boot-plan');
  const rackId = needsRack ? await resolveRack(tx, machine) : machine.rackId;
  if (needsRack && rackId === null && input.actor.kind === 'user') {
    return err({
      kind: 'no-rack',
      machineId: machine.id,
      detail: "no rack agent serves this machine: enroll a rack, or set the machine's rack",
    });
  }

  const patch: { -readonly [K in keyof MachinePatch]: MachinePatch[K] } = {
    ...input.patch,
    status: to,
    statusMessage: input.message,
    rackId,
  };
  const commands: RackCommandBody[] = [];
  const deployment = input.deployment ?? machine.deployment;
  // The boot plan this transition asks for, resolved against the deployment (an in-memory
  // deployment boots `ephemeral` where a disk deployment boots `install`).
  const asked = effects.find((e) => e.kind === 'set-boot-plan')?.purpose;
  const purpose = asked === undefined ? undefined : resolveBootPurpose(asked, to, deployment);
  const files = await bootFiles(tx, purpose, deployment, machine.arch);
  if (!files.ok && input.actor.kind === 'user') return err(files.error);
  let bootPlanVersion = machine.version + 1;
  // A boot environment that talks to the metadata service gets a fresh token (stored hashed once
  // the write below wins; it replaces, and so revokes, the machine's previous one).
  let issued: ReturnType<typeof newMetadataToken> | undefined;
  const issueToken = (purpose: string): string | undefined => {
    if (!TOKEN_PURPOSES.has(purpose)) return undefined;
    issued = newMetadataToken(machine.id, nowMs);
    return sealQueuedToken(secrets, issued.token);
  };
  for (const effect of effects) {
    applyEffect(effect);
  }

  function applyEffect(effect: Effect): void {
    switch (effect.kind) {
      case 'set-owner':
        patch.ownerId = input.ownerId ?? null;
        return;
      case 'clear-owner':
        patch.ownerId = null;
        patch.deployment = null;
        return;
      case 'set-deployment':
        patch.deployment = deployment;
        return;
      case 'start-timeout':
        patch.statusDeadlineMs = nowMs + timeoutFor(to, timeouts);
        return;
      case 'clear-timeout':
        patch.statusDeadlineMs = null;
        return;
      case 'set-boot-plan': {
        if (purpose === undefined || purpose === null) return;
        patch.bootPurpose = purpose;
        const plan = files.ok ? files.value : { files: [], kernelParams: '' };
        commands.push({
          kind: 'boot-plan',
          machineId: machine.id,
          macs: machine.macs,
          purpose,
          os: deployment?.os ?? '',
          release: deployment?.release ?? '',
          arch: machine.arch,
          hostname: machine.hostname,
          version: bootPlanVersion++,
          files: plan.files,
          kernelParams: plan.kernelParams,
          metadataToken: issueToken(purpose),
        });
        return;
      }
      case 'power':
        commands.push({
          kind: 'power',
          machineId: machine.id,
          action: effect.action,
          driver: machine.power?.type ?? 'manual',
          params: machine.power?.params ?? {},
          pxeOnce: effect.pxeOnce,
        });
        return;
    }
  }

  const updated = await tx.updateMachine(machine.id, machine.version, patch, nowMs);
  if (updated === undefined) return err({ kind: 'stale', machineId: machine.id });
  if (issued !== undefined) await tx.putMetadataToken(issued.record);
  // The allocation's notes (MAAS agent_name, owner_data) go with its owner.
  if (effects.some((e) => e.kind === 'clear-owner'))
    await tx.putAllocationNotes(machine.id, NO_NOTES);

  const transitionEvent: NewEvent = {
    id: uuid(),
    kind: 'transition',
    machineId: machine.id,
    rackId,
    step: input.action,
    result: 'succeeded',
    fromStatus: machine.status,
    toStatus: to,
    actor: actorName(input.actor),
    message: input.message,
    data: input.data ?? {},
    occurredAtMs: nowMs,
  };
  const events: NewEvent[] = [transitionEvent];
  const racksToNotify: string[] = [];
  if (commands.length > 0) {
    if (rackId === null) {
      events.push({
        ...transitionEvent,
        id: uuid(),
        kind: 'step',
        step: 'rack.unavailable',
        result: 'failed',
        fromStatus: null,
        toStatus: null,
        message: 'no rack agent serves this machine; power and boot commands were not sent',
      });
    } else {
      for (const body of commands) {
        if (body.kind === 'boot-plan')
          await tx.dropPendingRackCommands({ machineId: machine.id }, 'boot-plan', nowMs);
        await tx.insertRackCommand({
          id: uuid(),
          rackId,
          machineId: machine.id,
          body,
          createdAtMs: nowMs,
        });
      }
      racksToNotify.push(rackId);
    }
  }
  return ok({ machine: updated, events, racksToNotify });
}

/**
 * The files a network boot with `purpose` needs, and their extra kernel parameters:
 *
 * - `install`: Ingot's ephemeral environment (kernel, initrd, squashfs) plus the deployment
 *   image's root image, which the installer fetches and writes (the agent prefetches both);
 * - `ephemeral` (deploy in memory): the deployment image itself (its root image is booted with
 *   a tmpfs overlay);
 * - `commission`, `erase`: the ephemeral environment;
 * - `local`, `rescue`: nothing.
 */
async function bootFiles(
  tx: Store,
  purpose: BootPurpose | null | undefined,
  deployment: DeploymentChoice | null,
  arch: Machine['arch'],
): Promise<Result<{ files: BootResourceFile[]; kernelParams: string }, DomainError>> {
  if (purpose === undefined || purpose === null || purpose === 'local' || purpose === 'rescue')
    return ok({ files: [], kernelParams: '' });
  const env = await tx.findBootResource(COMMISSIONING_IMAGE.os, COMMISSIONING_IMAGE.release, arch);
  const needsEnv = purpose !== 'ephemeral';
  if (needsEnv && env === undefined) {
    return err({
      kind: 'invalid',
      field: 'image',
      detail: `no ephemeral environment ${COMMISSIONING_IMAGE.os}/${COMMISSIONING_IMAGE.release}/${arch}: import one (ingot images import) before commissioning, deploying to disk or erasing`,
    });
  }
  if (purpose === 'commission' || purpose === 'erase') {
    return ok({ files: [...(env?.files ?? [])], kernelParams: env?.kernelParams ?? '' });
  }
  const image =
    deployment === null
      ? undefined
      : await tx.findBootResource(deployment.os, deployment.release, arch);
  if (image === undefined) {
    return err({
      kind: 'invalid',
      field: 'release',
      detail: `no image ${deployment?.os ?? '?'}/${deployment?.release ?? '?'}/${arch}: import one (ingot images import) or pick another`,
    });
  }
  if (purpose === 'ephemeral')
    return ok({ files: [...image.files], kernelParams: image.kernelParams });
  const root = image.files.find((f) => f.role === 'root-image' || f.role === 'squashfs');
  if (root === undefined) {
    return err({
      kind: 'invalid',
      field: 'release',
      detail: `image ${image.os}/${image.release}/${arch} has no root image to install`,
    });
  }
  return ok({
    files: [
      ...(env?.files ?? []).filter((f) => f.role !== 'root-image'),
      { ...root, role: 'root-image' },
    ],
    kernelParams: env?.kernelParams ?? '',
  });
}

/**
 * The rack that serves `machine`. A machine created through the API before any rack saw it
 * belongs to the only rack, if there is exactly one; with several the operator must say which.
 */
export async function resolveRack(tx: Store, machine: Machine): Promise<string | null> {
  if (machine.rackId !== null) return machine.rackId;
  const racks = await tx.listRacks();
  return racks.length === 1 && racks[0] !== undefined ? racks[0].id : null;
}

function timeoutFor(status: Machine['status'], timeouts: StatusTimeouts): number {
  switch (status) {
    case 'commissioning':
      return timeouts.commissioningMs;
    case 'releasing':
      return timeouts.releasingMs;
    case 'deploying':
      return timeouts.deployingMs;
    case 'new':
    case 'ready':
    case 'allocated':
    case 'deployed':
    case 'failed_commissioning':
    case 'failed_deployment':
    case 'failed_releasing':
    case 'broken':
      throw new Error(`lifecycle table starts a timeout in resting status ${status}`);
  }
}
