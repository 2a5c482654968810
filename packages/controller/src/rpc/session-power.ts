/**
 * The BMC access one rack session sends its agent for power polling (issue 7). The agent keeps
 * it in memory only, so every session starts with everything; after that a change sends just
 * what changed: the machines named by the notification, compared with what this session sent.
 */
import { randomUUID } from 'node:crypto';
import type { SessionResponse } from '@ingot/proto/rack/v1';
import type { RackPowerConfig } from '../app/rack-power-configs.ts';
import { openPowerParams, type SecretBox } from '../app/secret-box.ts';

/** Reads the configs a rack polls: all, or of those of `machineIds` it polls. */
export type PowerConfigReader = (machineIds?: readonly string[]) => Promise<RackPowerConfig[]>;

/**
 * One session's power configs: what it sent, and the push waiting to run. Pushes run one at a
 * time on the session's queue; requests made while one waits to start join it.
 */
export class SessionPower {
  readonly #read: PowerConfigReader;
  readonly #send: (message: SessionResponse) => void;
  readonly #secrets: SecretBox;
  /** Power parameters (sealed JSON) last sent on this session, by machine id. */
  readonly #polled = new Map<string, string>();
  /** The push queued and not started: every machine, or these; undefined when none is. */
  #pending: 'all' | Set<string> | undefined;

  constructor(
    read: PowerConfigReader,
    send: (message: SessionResponse) => void,
    secrets: SecretBox,
  ) {
    this.#read = read;
    this.#send = send;
    this.#secrets = secrets;
  }

  /**
   * Asks for a push of `machineIds` (undefined: every machine). True when the caller must queue
   * {@link pushPending}; false when a queued push not started yet now covers this too.
   */
  request(machineIds?: readonly string[]): boolean {
    const queued = this.#pending !== undefined;
    if (machineIds === undefined || this.#pending === 'all') this.#pending = 'all';
    else {
      this.#pending ??= new Set();
      for (const id of machineIds) this.#pending.add(id);
    }
    return !queued;
  }

  /** Runs the requested push (nothing if none is waiting). */
  async pushPending(): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === 'all') await this.push();
    else if (pending !== undefined) await this.push([...pending]);
  }

  /**
   * Sends the configs of `machineIds` (undefined: every machine this rack polls) that differ
   * from what this session sent, and removals for those it sent that the rack no longer polls.
   */
  async push(machineIds?: readonly string[]): Promise<void> {
    const configs = await this.#read(machineIds);
    const now = new Set<string>();
    for (const c of configs) {
      // Compared sealed: only what changed since this session last sent it is opened and sent
      // (issue 7 bench: every machine's config on every machine change was 1,000 × 1,000
      // messages, and 1 GB of controller memory, for 1,000 machines created one by one).
      const sealed = `${c.driver}\n${JSON.stringify(c.params)}`;
      now.add(c.machineId);
      if (this.#polled.get(c.machineId) === sealed) continue;
      this.#polled.set(c.machineId, sealed);
      const paramsJson = JSON.stringify(openPowerParams(this.#secrets, c.params));
      this.#sendConfig(c.machineId, c.driver, paramsJson);
    }
    const scope = machineIds ?? [...this.#polled.keys()];
    for (const machineId of scope) {
      if (now.has(machineId) || !this.#polled.delete(machineId)) continue;
      this.#sendConfig(machineId, '', '');
    }
  }

  /** An empty driver tells the agent to stop polling the machine. */
  #sendConfig(machineId: string, driver: string, paramsJson: string): void {
    this.#send({
      kind: {
        $case: 'command',
        value: {
          id: randomUUID(),
          kind: { $case: 'powerConfig', value: { machineId, driver, paramsJson } },
        },
      },
    });
  }
}
