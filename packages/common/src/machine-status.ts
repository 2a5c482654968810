/**
 * The machine statuses (DESIGN.md §2), in lifecycle order: the one list the controller's
 * lifecycle table, its API schemas and the web UI's status filter all use. A module of its own
 * with no imports, so the browser bundle can take it without the rest of `@ingot/common`.
 */

/** Every machine status. The names are stable: the API, events and tests use them. */
export const MACHINE_STATUSES = [
  'new',
  'commissioning',
  'ready',
  'allocated',
  'deploying',
  'deployed',
  'releasing',
  'failed_commissioning',
  'failed_deployment',
  'failed_releasing',
  'broken',
] as const;

/** One of {@link MACHINE_STATUSES}. */
export type MachineStatus = (typeof MACHINE_STATUSES)[number];
