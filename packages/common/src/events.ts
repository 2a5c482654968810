/**
 * The result of one deployment step (DESIGN.md §3): a step starts, then succeeds or fails.
 * `info` marks an observation that is not a step of its own (e.g. a lease renewal).
 */
export const STEP_RESULTS = ['started', 'succeeded', 'failed', 'info'] as const;
/** One of {@link STEP_RESULTS}. */
export type StepResult = (typeof STEP_RESULTS)[number];

/**
 * Steps a rack records for the boot files it serves over TFTP and HTTP boot (DESIGN.md §3 steps
 * 4–9): the agent reports each fetch under one of these, and the controller tells such an
 * observation from a machine's own report by them.
 */
export const BOOT_FETCH_STEPS = [
  'boot.nbp',
  'boot.config',
  'boot.kernel',
  'boot.initrd',
  'boot.squashfs',
] as const;
/** One of {@link BOOT_FETCH_STEPS}. */
export type BootFetchStep = (typeof BOOT_FETCH_STEPS)[number];
