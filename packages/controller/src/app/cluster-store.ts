/**
 * What several controllers on one database share about each other (issue 7, scale-out): which
 * controller holds each rack's gRPC session, and where the event log ends. A part of the store;
 * contract in `store/cluster-store.contract.ts`, run on SQLite and PostgreSQL.
 */

/**
 * A rack's session lease: the controller holding the rack's one live session. A newer session
 * of the same rack (on any controller) takes the lease over; the holder renews it while the
 * session lives, and a lease nobody renews ends at `expiresAtMs` (its controller died).
 */
export interface RackSessionLease {
  readonly rackId: string;
  /** Instance id of the controller holding the session (stable for one process). */
  readonly controllerId: string;
  /** The controller's operator-given name (`--name`), for people. */
  readonly controllerName: string;
  /** Id of the session on that controller. */
  readonly sessionId: string;
  readonly startedAtMs: number;
  readonly renewedAtMs: number;
  readonly expiresAtMs: number;
}

/** A claim of a rack's session by one controller. */
export interface RackSessionClaim {
  readonly rackId: string;
  readonly controllerId: string;
  readonly controllerName: string;
  readonly sessionId: string;
  readonly nowMs: number;
  readonly expiresAtMs: number;
}

/** Port: the cluster's shared bookkeeping (see the file comment). */
export interface ClusterStore {
  /**
   * Records that `claim.sessionId` now holds the rack's session, replacing whatever held it (the
   * agent opened a new session, so the old one is over). Atomic: of concurrent claims, the one
   * written last holds the lease. Returns the lease it replaced, if any.
   */
  claimRackSession(claim: RackSessionClaim): Promise<RackSessionLease | undefined>;
  /** The rack's lease, expired or not. */
  getRackSession(rackId: string): Promise<RackSessionLease | undefined>;
  /**
   * Extends the leases of `sessionIds` held by `controllerId` to `expiresAtMs`. Returns the
   * session ids whose lease was renewed: a session missing from the answer lost its lease (a
   * newer session took the rack, or the lease expired and was cleared).
   */
  renewRackSessions(
    controllerId: string,
    sessionIds: readonly string[],
    nowMs: number,
    expiresAtMs: number,
  ): Promise<string[]>;
  /** Ends the lease of `sessionId` on `rackId`; false if that session no longer held it. */
  releaseRackSession(rackId: string, sessionId: string): Promise<boolean>;
  /** Every lease, expired or not, by rack id. */
  listRackSessions(): Promise<RackSessionLease[]>;
  /** Deletes and returns up to `limit` leases that expired at or before `nowMs`. */
  takeExpiredRackSessions(nowMs: number, limit: number): Promise<RackSessionLease[]>;
  /** The largest event `seq` stored (0 when the log is empty). */
  lastEventSeq(): Promise<number>;
}
