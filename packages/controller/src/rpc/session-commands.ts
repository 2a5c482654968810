/**
 * The commands of one rack session: each pending command is sent once per session, and pushes
 * run beside the session's message queue, not behind it. A boot plan queued while the queue
 * works through a backlog of event batches (each a database transaction) must not wait for them
 * (issue 7 failover: the `local` plan queued at `installed` reached the agent tens of seconds
 * late, and the machines PXE-booted the installer again).
 */
import type { RackCommand } from '../domain/rack.ts';

export class SessionCommands {
  /** Sent on this session and not yet acknowledged: do not send them twice. */
  readonly #sent = new Set<string>();
  /** Acknowledged on this session: a push that read them as still pending skips them. */
  readonly #acked = new Set<string>();
  #pushing = false;
  #again = false;
  readonly #pending: () => Promise<RackCommand[]>;
  readonly #send: (command: RackCommand) => void;
  readonly #failed: (error: unknown) => void;

  constructor(
    pending: () => Promise<RackCommand[]>,
    send: (command: RackCommand) => void,
    failed: (error: unknown) => void,
  ) {
    this.#pending = pending;
    this.#send = send;
    this.#failed = failed;
  }

  /** Sends every pending command not already sent (or acknowledged) on this session. */
  async push(): Promise<void> {
    for (const command of await this.#pending()) {
      if (this.#sent.has(command.id) || this.#acked.has(command.id)) continue;
      this.#sent.add(command.id);
      this.#send(command);
    }
  }

  /** Starts a push now; at most one runs, and a request during it runs one more after it. */
  pushSoon(): void {
    if (this.#pushing) {
      this.#again = true;
      return;
    }
    this.#pushing = true;
    this.push()
      .catch(this.#failed)
      .finally(() => {
        this.#pushing = false;
        if (this.#again) {
          this.#again = false;
          this.pushSoon();
        }
      });
  }

  acked(ids: readonly string[]): void {
    for (const id of ids) {
      this.#sent.delete(id);
      this.#acked.add(id);
    }
  }
}
