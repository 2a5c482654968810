/**
 * One live session per rack across the cluster. The controller an agent connects to claims the
 * rack's lease in the store (replacing any holder: the agent opened a new session, so its old one
 * is over) and signals the claim; the controller holding the older session checks the store and
 * ends its stream. Holders renew their leases every `renewMs`; a session whose lease was taken
 * (even if the signal was lost) is ended at the next renewal. A controller that dies stops
 * renewing: the leader clears its expired leases and the racks show disconnected until their
 * agents connect elsewhere.
 */
import type { Clock, Logger } from '@ingot/common';
import type { ClusterStore, RackSessionLease } from '../app/cluster-store.ts';
import type { ControllerInstance } from './instance.ts';
import type { Leadership } from './leadership.ts';
import type { ClusterSignals } from './signals.ts';

/** A session open on this controller. */
export interface LocalRackSession {
  readonly rackId: string;
  readonly sessionId: string;
}

/** The sessions of this controller, as the rack server shows them to the leases. */
export interface LocalRackSessions {
  list(): LocalRackSession[];
  /** Ends the session if it is still open here. */
  end(rackId: string, sessionId: string, reason: string): void;
}

/** Options of {@link startRackSessionLeases}. */
export interface RackSessionLeasesOptions {
  readonly store: ClusterStore;
  readonly signals: ClusterSignals;
  readonly instance: ControllerInstance;
  readonly leadership: Leadership;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a lease lasts without renewal (default 15 s). */
  readonly leaseMs?: number;
  /** How often leases are renewed and expired ones cleared (default a third of `leaseMs`). */
  readonly renewMs?: number;
  /** Called by the leader for each lease it cleared as expired (mark the rack disconnected). */
  readonly onExpired: (lease: RackSessionLease) => Promise<void>;
}

/** Session ownership for the rack server (`RackSessionOwnership`), with renewal running. */
export interface RackSessionLeases {
  claim(rackId: string, sessionId: string): Promise<void>;
  release(rackId: string, sessionId: string): Promise<boolean>;
  /** Connects the rack server's sessions (late: the server starts after the leases). */
  attach(sessions: LocalRackSessions): void;
  /** Renews now and ends sessions that lost their lease; clears expired leases if leader. */
  renewNow(): Promise<void>;
  close(): void;
}

/** Starts renewing (and, as leader, expiring) leases every `renewMs`. */
export function startRackSessionLeases(options: RackSessionLeasesOptions): RackSessionLeases {
  const { store, signals, instance, clock, logger } = options;
  const leaseMs = options.leaseMs ?? 15_000;
  const renewMs = options.renewMs ?? Math.max(100, Math.floor(leaseMs / 3));
  let sessions: LocalRackSessions = { list: () => [], end: () => undefined };
  let running = false;

  const renewNow = async (): Promise<void> => {
    const held = sessions.list();
    if (held.length > 0) {
      const now = clock.now();
      const renewed = new Set(
        await store.renewRackSessions(
          instance.id,
          held.map((s) => s.sessionId),
          now,
          now + leaseMs,
        ),
      );
      for (const s of held) {
        if (!renewed.has(s.sessionId)) {
          logger.info('rack session lease lost; ending the session', { rackId: s.rackId });
          sessions.end(s.rackId, s.sessionId, 'the rack session moved to another controller');
        }
      }
    }
    if (options.leadership.isLeader()) {
      for (const lease of await store.takeExpiredRackSessions(clock.now(), 100)) {
        logger.warn('rack session lease expired (its controller stopped renewing)', {
          rackId: lease.rackId,
          controller: lease.controllerId,
        });
        await options.onExpired(lease);
      }
    }
  };

  const timer = setInterval(() => {
    if (running) return;
    running = true;
    renewNow()
      .catch((e: unknown) => logger.warn('rack session lease renewal failed', { error: e }))
      .finally(() => {
        running = false;
      });
  }, renewMs);
  timer.unref();

  // A claim elsewhere: end this controller's other session of that rack if the store agrees the
  // newer one holds it (the store decides, so two claims racing never end both sessions).
  const unsubscribe = signals.subscribe((message) => {
    if (message.kind !== 'rack-session-claimed') return;
    const stale = sessions
      .list()
      .filter((s) => s.rackId === message.rackId && s.sessionId !== message.sessionId);
    if (stale.length === 0) return;
    store
      .getRackSession(message.rackId)
      .then((lease) => {
        for (const s of stale) {
          if (lease?.sessionId === s.sessionId) continue;
          logger.info('rack session taken over by another controller; ending it here', {
            rackId: s.rackId,
            holder: lease?.controllerId,
          });
          sessions.end(s.rackId, s.sessionId, 'the rack session moved to another controller');
        }
      })
      .catch((e: unknown) => logger.warn('rack session check failed', { error: e }));
  });

  return {
    async claim(rackId, sessionId) {
      const now = clock.now();
      const previous = await store.claimRackSession({
        rackId,
        sessionId,
        controllerId: instance.id,
        controllerName: instance.name,
        nowMs: now,
        expiresAtMs: now + leaseMs,
      });
      if (previous !== undefined && previous.controllerId !== instance.id) {
        logger.info('rack session taken over', {
          rackId,
          from: previous.controllerId,
          leaseExpired: previous.expiresAtMs <= now,
        });
      }
      signals.publish({ kind: 'rack-session-claimed', rackId, sessionId });
    },
    release: (rackId, sessionId) => store.releaseRackSession(rackId, sessionId),
    attach(s) {
      sessions = s;
    },
    renewNow,
    close() {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
