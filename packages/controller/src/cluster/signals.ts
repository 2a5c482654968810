/**
 * Cluster signals: small wake-up messages between the controllers sharing one database (issue 7,
 * scale-out). A signal never carries state: the store holds the truth, and a signal only says
 * "look again now" (new events up to `seq`, commands queued for a rack, a rack's session moved).
 * Delivery is best effort, so every use has a slower fallback that needs no signal (the event
 * feed polls, sessions resend pending commands on each heartbeat, leases are renewed and checked).
 *
 * Every member receives its own signals too, synchronously from `publish`, so one code path
 * serves the local controller and the others.
 */

/** What one controller tells the others. */
export type ClusterSignal =
  /** Events up to `seq` are committed: read the log past your cursor. */
  | { readonly kind: 'events'; readonly seq: number }
  /** Commands were queued for the rack: its session's holder sends them now. */
  | { readonly kind: 'rack-commands'; readonly rackId: string }
  /**
   * BMC access of the rack's machines changed: its session's holder resends that of
   * `machineIds`, or of every machine when absent (see {@link powerConfigsSignal}).
   */
  | {
      readonly kind: 'rack-power-configs';
      readonly rackId: string;
      readonly machineIds?: readonly string[] | undefined;
    }
  /** The rack was revoked: its session's holder closes it. */
  | { readonly kind: 'rack-revoked'; readonly rackId: string }
  /** `sessionId` claimed the rack's session: any other session of that rack is over. */
  | { readonly kind: 'rack-session-claimed'; readonly rackId: string; readonly sessionId: string };

/**
 * Most machine ids one `rack-power-configs` signal names; more are sent as "every machine", so a
 * NOTIFY payload stays small (PostgreSQL caps it at 8000 bytes; 50 UUIDs are about 2 KB).
 */
export const MAX_SIGNAL_MACHINE_IDS = 50;

/**
 * The `rack-power-configs` signal for `machineIds` (undefined: every machine of the rack).
 * Without the ids each change made the holder read every machine stored (issue 7: O(n) per
 * machine created, O(n²) to create n).
 */
export function powerConfigsSignal(
  rackId: string,
  machineIds?: readonly string[],
): Extract<ClusterSignal, { kind: 'rack-power-configs' }> {
  const ids = machineIds === undefined ? undefined : [...new Set(machineIds)];
  return ids === undefined || ids.length > MAX_SIGNAL_MACHINE_IDS
    ? { kind: 'rack-power-configs', rackId }
    : { kind: 'rack-power-configs', rackId, machineIds: ids };
}

/**
 * One signal saying what `a` and `b` together say (both for the same rack): the union of their
 * machine ids, or every machine if either means every machine.
 */
export function mergePowerConfigsSignals(
  a: Extract<ClusterSignal, { kind: 'rack-power-configs' }>,
  b: Extract<ClusterSignal, { kind: 'rack-power-configs' }>,
): Extract<ClusterSignal, { kind: 'rack-power-configs' }> {
  if (a.machineIds === undefined || b.machineIds === undefined) return powerConfigsSignal(a.rackId);
  return powerConfigsSignal(a.rackId, [...a.machineIds, ...b.machineIds]);
}

/**
 * What a subscriber receives: a signal, or `resync` after the channel was (re)established —
 * signals sent while it was down are lost, so look at the store again.
 */
export type ClusterMessage = ClusterSignal | { readonly kind: 'resync' };

/** Port: one controller's end of the signal channel. */
export interface ClusterSignals {
  /** Sends `signal` to every controller, this one included (this one at once). Never throws. */
  publish(signal: ClusterSignal): void;
  /** Whether signals from other controllers can arrive now (always, for one alone). */
  connected(): boolean;
  /** Calls `listener` for every signal and resync; returns the unsubscribe function. */
  subscribe(listener: (message: ClusterMessage) => void): () => void;
  close(): Promise<void>;
}

/** Delivers `message` to each listener; a failing listener is reported and skips no other. */
export function deliver(
  listeners: Iterable<(message: ClusterMessage) => void>,
  message: ClusterMessage,
  onError: (e: unknown) => void,
): void {
  for (const listener of listeners) {
    try {
      listener(message);
    } catch (e) {
      onError(e);
    }
  }
}

/**
 * An in-process hub: the members joined to one hub signal each other synchronously. A controller
 * on SQLite is the only member of its own hub; tests join several "controllers" to one hub.
 */
export interface SignalHub {
  join(): ClusterSignals;
}

/** Creates an in-process {@link SignalHub}. */
export function createSignalHub(onError: (e: unknown) => void = () => undefined): SignalHub {
  const members = new Set<Set<(message: ClusterMessage) => void>>();
  return {
    join(): ClusterSignals {
      const listeners = new Set<(message: ClusterMessage) => void>();
      members.add(listeners);
      return {
        publish(signal) {
          for (const member of [...members]) deliver([...member], signal, onError);
        },
        connected: () => members.has(listeners),
        subscribe(listener) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        close() {
          members.delete(listeners);
          listeners.clear();
          return Promise.resolve();
        },
      };
    },
  };
}
