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
  /** BMC access of the rack's machines changed: its session's holder resends it. */
  | { readonly kind: 'rack-power-configs'; readonly rackId: string }
  /** The rack was revoked: its session's holder closes it. */
  | { readonly kind: 'rack-revoked'; readonly rackId: string }
  /** `sessionId` claimed the rack's session: any other session of that rack is over. */
  | { readonly kind: 'rack-session-claimed'; readonly rackId: string; readonly sessionId: string };

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
