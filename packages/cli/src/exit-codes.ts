/**
 * The CLI's exit codes, so scripts can tell "the deploy failed" from "the controller said no"
 * and "we stopped waiting". Documented in `ingot help` and docs/operator-guide.md.
 */
export const EXIT = {
  /** Done; with `--wait`, the machine reached the status the action aims for. */
  ok: 0,
  /** The controller refused or could not be reached (problem+json from the API, network error). */
  api: 1,
  /** A command-line mistake (unknown command or flag, bad value). */
  usage: 2,
  /** `--wait`: the machine ended the action failed (`failed_*`, aborted, broken). */
  failed: 3,
  /** `--wait`: `--timeout` passed while the machine was still busy (it carries on). */
  timedOut: 4,
  /** Interrupted (Ctrl-C) while waiting; the action carries on. */
  interrupted: 130,
} as const;
