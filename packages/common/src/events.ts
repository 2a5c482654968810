/**
 * The result of one deployment step (DESIGN.md §3): a step starts, then succeeds or fails.
 * `info` marks an observation that is not a step of its own (e.g. a lease renewal).
 */
export const STEP_RESULTS = ['started', 'succeeded', 'failed', 'info'] as const;
/** One of {@link STEP_RESULTS}. */
export type StepResult = (typeof STEP_RESULTS)[number];
