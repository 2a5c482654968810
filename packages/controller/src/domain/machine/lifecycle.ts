/**
 * The machine lifecycle: every status, every action, and what each transition does, in one table
 * (DESIGN.md §2; STYLE.md §4.3). The table is pure data. The application layer persists `to`
 * and carries out `effects`.
 *
 * ```
 * new ─commission→ commissioning ─commissioned→ ready ─allocate→ allocated ─deploy→ deploying
 *   deploying ─deployed→ deployed ─release→ releasing ─released→ ready
 *   any failure → failed_*; broken from anywhere (mark_broken), back with mark_fixed.
 * ```
 */
import { err, ok, MACHINE_STATUSES, type MachineStatus, type Result } from '@ingot/common';

// The statuses live in `@ingot/common` so the web UI shares the one list; the lifecycle's users
// keep importing them from here.
export { MACHINE_STATUSES, type MachineStatus } from '@ingot/common';

/** Everything that can happen to a machine. Operator actions and observations alike. */
export const MACHINE_ACTIONS = [
  'commission',
  'commissioned',
  'commission_failed',
  'allocate',
  'deploy',
  'deployed',
  'deploy_failed',
  'installed',
  'release',
  'release_erase',
  'released',
  'release_failed',
  'abort',
  'timeout',
  'mark_broken',
  'mark_fixed',
] as const;
/** One of {@link MACHINE_ACTIONS}. */
export type MachineAction = (typeof MACHINE_ACTIONS)[number];

/**
 * Side effects a transition asks for. They come back as data; `app/` performs them after the new
 * status is stored (through the rack command outbox, so a restart loses none).
 */
export type Effect =
  /** Push the machine's boot plan (what it network-boots next) to its rack. */
  | { readonly kind: 'set-boot-plan'; readonly purpose: BootPurpose }
  /** Ask the rack to power the machine; `pxeOnce` sets a one-time network boot first. */
  | { readonly kind: 'power'; readonly action: 'on' | 'off' | 'cycle'; readonly pxeOnce: boolean }
  /** Start the status timeout (deadline stored with the machine). */
  | { readonly kind: 'start-timeout' }
  /** Clear any status timeout. */
  | { readonly kind: 'clear-timeout' }
  /** Forget the owner and the deployment choices. */
  | { readonly kind: 'clear-owner' }
  /** Record the allocating user as owner. */
  | { readonly kind: 'set-owner' }
  /** Record the deployment choices (os, release, user data …). */
  | { readonly kind: 'set-deployment' };

/** What a machine boots when it network-boots (DESIGN.md §3 step 6). */
export const BOOT_PURPOSES = [
  'install',
  'commission',
  'ephemeral',
  'erase',
  'local',
  'rescue',
] as const;
/** One of {@link BOOT_PURPOSES}. */
export type BootPurpose = (typeof BOOT_PURPOSES)[number];

/**
 * Resolves the purpose a table row asks for against the deployment: a deploy of an in-memory
 * deployment boots `ephemeral` instead of `install`, and once it is `deployed` its plan stays as
 * it is (a reboot boots it into memory again; a new plan would also revoke its metadata token),
 * so `local` there means no new plan at all (`null`).
 */
export function resolveBootPurpose(
  purpose: BootPurpose,
  to: MachineStatus,
  deployment: { readonly ephemeral: boolean } | null,
): BootPurpose | null {
  if (deployment?.ephemeral !== true) return purpose;
  if (purpose === 'install') return 'ephemeral';
  if (purpose === 'local' && to === 'deployed') return null;
  return purpose;
}

/** One row of the table. */
export interface Transition {
  readonly to: MachineStatus;
  readonly effects: readonly Effect[];
}

const T = (to: MachineStatus, ...effects: Effect[]): Transition => ({ to, effects });

const startCommissioning: Transition = T(
  'commissioning',
  { kind: 'set-boot-plan', purpose: 'commission' },
  { kind: 'power', action: 'on', pxeOnce: true },
  { kind: 'start-timeout' },
);
const startDeploying: Transition = T(
  'deploying',
  { kind: 'set-deployment' },
  { kind: 'set-boot-plan', purpose: 'install' },
  { kind: 'power', action: 'on', pxeOnce: true },
  { kind: 'start-timeout' },
);
/** Release with a disk erase: the machine boots the ephemeral environment, which wipes it. */
const startErasing: Transition = T(
  'releasing',
  { kind: 'set-deployment' },
  { kind: 'set-boot-plan', purpose: 'erase' },
  { kind: 'power', action: 'cycle', pxeOnce: true },
  { kind: 'start-timeout' },
);
const startReleasing: Transition = T(
  'releasing',
  { kind: 'set-boot-plan', purpose: 'local' },
  { kind: 'power', action: 'off', pxeOnce: false },
  { kind: 'start-timeout' },
);
const backToReady: Transition = T('ready', { kind: 'clear-timeout' }, { kind: 'clear-owner' });
const fail = (to: MachineStatus): Transition => T(to, { kind: 'clear-timeout' });
const broken: Transition = T('broken', { kind: 'clear-timeout' });

/**
 * The lifecycle table: `TRANSITIONS[status][action]` is the transition, or absent when the action
 * is not allowed in that status. `mark_broken` is allowed from every status except `broken`.
 */
export const TRANSITIONS: {
  readonly [S in MachineStatus]: Partial<Record<MachineAction, Transition>>;
} = {
  new: {
    commission: startCommissioning,
    mark_broken: broken,
  },
  commissioning: {
    commissioned: T(
      'ready',
      { kind: 'clear-timeout' },
      { kind: 'set-boot-plan', purpose: 'local' },
    ),
    commission_failed: fail('failed_commissioning'),
    timeout: fail('failed_commissioning'),
    abort: T('new', { kind: 'clear-timeout' }, { kind: 'power', action: 'off', pxeOnce: false }),
    mark_broken: broken,
  },
  ready: {
    commission: startCommissioning,
    allocate: T('allocated', { kind: 'set-owner' }),
    mark_broken: broken,
  },
  allocated: {
    deploy: startDeploying,
    release: backToReady,
    mark_broken: broken,
  },
  deploying: {
    // The installer wrote the disk and reboots: from now on the machine boots its disk.
    installed: T('deploying', { kind: 'set-boot-plan', purpose: 'local' }),
    deployed: T('deployed', { kind: 'clear-timeout' }, { kind: 'set-boot-plan', purpose: 'local' }),
    deploy_failed: fail('failed_deployment'),
    timeout: fail('failed_deployment'),
    abort: T(
      'allocated',
      { kind: 'clear-timeout' },
      { kind: 'set-boot-plan', purpose: 'local' },
      { kind: 'power', action: 'off', pxeOnce: false },
    ),
    mark_broken: broken,
  },
  deployed: {
    release: startReleasing,
    release_erase: startErasing,
    mark_broken: broken,
  },
  releasing: {
    // After an erase the plan still says `erase`: point it back at the local disk.
    released: T(
      'ready',
      { kind: 'clear-timeout' },
      { kind: 'clear-owner' },
      { kind: 'set-boot-plan', purpose: 'local' },
    ),
    release_failed: fail('failed_releasing'),
    timeout: fail('failed_releasing'),
    mark_broken: broken,
  },
  failed_commissioning: {
    commission: startCommissioning,
    mark_broken: broken,
  },
  failed_deployment: {
    deploy: startDeploying,
    release: startReleasing,
    release_erase: startErasing,
    mark_broken: broken,
  },
  failed_releasing: {
    release: startReleasing,
    release_erase: startErasing,
    mark_broken: broken,
  },
  broken: {
    // MAAS returns a fixed machine to ready only if it had been commissioned; Ingot keeps it
    // simple and explicit: fixed → ready with no owner, the operator recommissions if in doubt.
    mark_fixed: backToReady,
  },
};

/** Statuses a machine only leaves by an operator's action (nothing times them out). */
export const RESTING_STATUSES: ReadonlySet<MachineStatus> = new Set([
  'new',
  'ready',
  'allocated',
  'deployed',
  'failed_commissioning',
  'failed_deployment',
  'failed_releasing',
  'broken',
]);

/** Statuses with a timeout: the machine is busy and must leave them on its own. */
export const TIMED_STATUSES: ReadonlySet<MachineStatus> = new Set([
  'commissioning',
  'deploying',
  'releasing',
]);

/** Why a transition was refused. */
export type TransitionError =
  | {
      readonly kind: 'invalid-transition';
      readonly status: MachineStatus;
      readonly action: MachineAction;
      /** Actions that are allowed in `status`, for a helpful message. */
      readonly allowed: readonly MachineAction[];
    }
  | { readonly kind: 'locked'; readonly status: MachineStatus; readonly action: MachineAction };

/** Actions a locked machine still accepts: observations of what already happens, and unlock. */
const ALLOWED_WHILE_LOCKED: ReadonlySet<MachineAction> = new Set([
  'commissioned',
  'commission_failed',
  'deployed',
  'deploy_failed',
  'installed',
  'released',
  'release_failed',
  'timeout',
]);

/**
 * Decides a transition. Pure: it reads only its arguments.
 *
 * A locked machine refuses every operator action; observations (a deployment finishing, a
 * timeout) still apply, because they report what the hardware already did.
 */
export function transition(
  status: MachineStatus,
  action: MachineAction,
  locked = false,
): Result<Transition, TransitionError> {
  const row = TRANSITIONS[status];
  const found = row[action];
  if (found === undefined) {
    return err({
      kind: 'invalid-transition',
      status,
      action,
      allowed: MACHINE_ACTIONS.filter((a) => row[a] !== undefined),
    });
  }
  if (locked && !ALLOWED_WHILE_LOCKED.has(action)) {
    return err({ kind: 'locked', status, action });
  }
  return ok(found);
}

/** Type guard for untrusted strings (API input, database rows). */
export function isMachineStatus(value: string): value is MachineStatus {
  return (MACHINE_STATUSES as readonly string[]).includes(value);
}
