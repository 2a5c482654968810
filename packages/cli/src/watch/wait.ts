/**
 * When `--wait` is over, and how it ended: the machine's transitions say whether the action
 * reached its goal (`deploy` → `deployed`), failed (`failed_deployment`, with the failing step,
 * its message and the installer's log tail), or left its busy status some other way (aborted,
 * marked broken). Pure, so the summaries are tested as golden text.
 */
import { EXIT } from '../exit-codes.ts';
import { logTailOf, type StreamEvent } from './event.ts';

/** The lifecycle actions `--wait` follows. */
export type WaitAction = 'deploy' | 'commission' | 'release';

interface Goal {
  /** The status the action is busy in while it runs. */
  readonly busy: string;
  readonly success: string;
  readonly failure: string;
  /** Past tense for the summary: `deployed lab-1 in 78.2 s`. */
  readonly done: string;
}

const GOALS: Readonly<Record<WaitAction, Goal>> = {
  deploy: {
    busy: 'deploying',
    success: 'deployed',
    failure: 'failed_deployment',
    done: 'deployed',
  },
  commission: {
    busy: 'commissioning',
    success: 'ready',
    failure: 'failed_commissioning',
    done: 'commissioned',
  },
  release: { busy: 'releasing', success: 'ready', failure: 'failed_releasing', done: 'released' },
};

/** How a wait ended. */
export type WaitOutcome =
  | { readonly kind: 'succeeded'; readonly status: string }
  | {
      readonly kind: 'failed';
      readonly status: string;
      /** The step that failed, when one reported failing. */
      readonly step: string | undefined;
      readonly message: string;
      readonly logTail: string | undefined;
    }
  | {
      readonly kind: 'timed-out';
      readonly status: string;
      readonly lastStep: string | undefined;
    };

/** Follows one action's events and says when it is over. */
export class WaitTracker {
  readonly #goal: Goal;
  #status: string;
  #lastFailure: StreamEvent | undefined;
  #lastStep: StreamEvent | undefined;

  /** `status` is the machine's status as the action's response gave it. */
  constructor(action: WaitAction, status: string) {
    this.#goal = GOALS[action];
    this.#status = status;
  }

  /** The machine's last known status. */
  get status(): string {
    return this.#status;
  }

  /** Feeds one event of the machine (in order); returns the outcome once the wait is over. */
  observe(e: StreamEvent): WaitOutcome | undefined {
    if (e.kind !== 'transition' || e.toStatus === null) {
      if (e.result === 'failed') this.#lastFailure = e;
      if (e.kind === 'step') this.#lastStep = e;
      return undefined;
    }
    this.#status = e.toStatus;
    return this.#settled(e.message);
  }

  /**
   * The outcome if the machine is already settled without any event to come (e.g. a release of
   * an allocated machine is done in the response itself), else undefined.
   */
  settledAlready(): WaitOutcome | undefined {
    return this.#status === this.#goal.busy ? undefined : this.#settled('');
  }

  #settled(transitionMessage: string): WaitOutcome | undefined {
    const goal = this.#goal;
    const status = this.#status;
    if (status === goal.busy) return undefined;
    if (status === goal.success) return { kind: 'succeeded', status };
    const failure = this.#lastFailure;
    if (status === goal.failure && failure !== undefined) {
      return {
        kind: 'failed',
        status,
        step: failure.step,
        message: failure.message,
        logTail: logTailOf(failure),
      };
    }
    return {
      kind: 'failed',
      status,
      step: undefined,
      message: transitionMessage === '' ? `the machine is ${status}` : transitionMessage,
      logTail: undefined,
    };
  }

  /** The outcome when `--timeout` passes first. */
  timedOut(): WaitOutcome {
    const s = this.#lastStep;
    return {
      kind: 'timed-out',
      status: this.#status,
      lastStep: s === undefined ? undefined : `${s.step} ${s.result}`,
    };
  }
}

/** The exit code of an outcome. */
export function exitCodeOf(outcome: WaitOutcome): number {
  switch (outcome.kind) {
    case 'succeeded':
      return EXIT.ok;
    case 'failed':
      return EXIT.failed;
    case 'timed-out':
      return EXIT.timedOut;
  }
}

/** How many lines of a failed step's log the summary shows. */
const LOG_TAIL_LINES = 20;

/** The closing lines of a wait. */
export function summary(
  action: WaitAction,
  outcome: WaitOutcome,
  machine: { readonly id: string; readonly hostname: string },
  elapsedMs: number,
  timeoutText?: string,
): string {
  const seconds = `${(elapsedMs / 1000).toFixed(1)} s`;
  const name = machine.hostname === '' ? machine.id : machine.hostname;
  switch (outcome.kind) {
    case 'succeeded':
      return `${GOALS[action].done} ${name} in ${seconds}\n`;
    case 'failed': {
      const where = outcome.step === undefined ? '' : ` at ${outcome.step}`;
      // The installer's messages repeat the step ("install.customise failed: …"): say it once.
      const message =
        outcome.step === undefined
          ? outcome.message
          : outcome.message.replace(`${outcome.step} failed: `, '');
      let text = `${outcome.status}${where}: ${message} (${name}, after ${seconds})\n`;
      if (outcome.logTail !== undefined) {
        const lines = outcome.logTail.replace(/\s+$/, '').split('\n');
        const shown = lines.slice(-LOG_TAIL_LINES);
        text += `log tail${lines.length > shown.length ? ` (last ${shown.length} lines)` : ''}:\n`;
        text += shown.map((l) => `    ${l}`).join('\n') + '\n';
      }
      const next =
        outcome.status.startsWith('failed_') && action !== 'commission'
          ? `ingot machines release ${machine.id}`
          : `ingot machines show ${machine.id}`;
      return `${text}next: ${next}; all events: ingot events --machine ${machine.id}\n`;
    }
    case 'timed-out':
      return (
        `timed out after ${timeoutText ?? seconds}: ${name} is still ${outcome.status}` +
        `${outcome.lastStep === undefined ? '' : ` (last step: ${outcome.lastStep})`}.\n` +
        `The ${action} goes on; follow it with: ingot events --follow --machine ${machine.id}\n`
      );
  }
}
