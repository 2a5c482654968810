/**
 * The ports the use cases need: storage and the event bus. Adapters live in `store/` and `ws/`;
 * the application layer sees only these interfaces (STYLE.md §3).
 */
import type { EventRecord, NewEvent } from '../domain/event.ts';
import type { AllocationConstraints, Machine } from '../domain/machine/machine.ts';
import type { MachineStatus } from '../domain/machine/lifecycle.ts';
import type { Rack, RackCommand, RackCommandBody, RackHealth } from '../domain/rack.ts';
import type { ApiKeyRecord, User } from '../domain/user.ts';
import type { Reservation, Subnet } from '../domain/network/subnet.ts';
import type { BootResource } from '../domain/image/boot-resource.ts';
import type { SshKey } from '../domain/ssh-key.ts';
import type { MetadataTokenRecord } from '../domain/metadata/token.ts';
import type { MachineHardware } from '../domain/metadata/hardware.ts';
import type { AllocationNotes } from '../domain/machine/allocation-notes.ts';
import type { ClusterStore } from './cluster-store.ts';
import type { AuthFailureStore } from './auth-failure-store.ts';
import type { RackTrustStore } from './rack-trust-store.ts';

/** A machine row as written on creation. */
export type NewMachine = Omit<Machine, 'version' | 'updatedAtMs'>;

/** Fields a machine update may change. `macs` and `tags` replace the whole list. */
export type MachinePatch = Partial<Omit<Machine, 'id' | 'version' | 'createdAtMs' | 'updatedAtMs'>>;

/** Which machines to list. */
export interface MachineFilter {
  /** Only machines this user may see (owned by them, or unowned). */
  readonly visibleTo?: string | undefined;
  readonly status?: MachineStatus | undefined;
  readonly ids?: readonly string[] | undefined;
  readonly hostname?: string | undefined;
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
}

/** Which events to list. */
export interface EventFilter {
  readonly machineId?: string | undefined;
  /** Only events of these machines (one query for many, e.g. a listing's leases). */
  readonly machineIds?: readonly string[] | undefined;
  /** Only events with one of these step names. */
  readonly steps?: readonly string[] | undefined;
  /** Only events with `seq` greater than this. */
  readonly afterSeq?: number | undefined;
  /** Only events of these kinds (`audit` for the audit trail); all when undefined. */
  readonly kinds?: readonly EventRecord['kind'][] | undefined;
  readonly limit?: number | undefined;
}

/**
 * Persistent state. Every method is atomic on its own; `transaction` groups several. Contended
 * writes (allocation, token use, compare-and-set updates) are correct under concurrency on every
 * implementation: that is what the contract suite checks.
 */
export interface Store {
  /** Runs `work` in one transaction; it commits when the promise resolves. */
  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T>;

  insertMachine(machine: NewMachine): Promise<void>;
  getMachine(id: string): Promise<Machine | undefined>;
  getMachineByMac(mac: string): Promise<Machine | undefined>;
  getMachineByHostname(hostname: string): Promise<Machine | undefined>;
  listMachines(filter: MachineFilter): Promise<Machine[]>;
  /** How many machines are in each status (statuses with none are absent). One query. */
  countMachinesByStatus(): Promise<Map<MachineStatus, number>>;
  /**
   * Writes `patch` if the machine still has `expectedVersion`, and bumps the version. Returns the
   * new machine, or undefined when someone else wrote first (or it is gone).
   */
  updateMachine(
    id: string,
    expectedVersion: number,
    patch: MachinePatch,
    nowMs: number,
  ): Promise<Machine | undefined>;
  deleteMachine(id: string): Promise<boolean>;
  /**
   * Records an observed power state. An observation, not a change of the machine: it neither
   * checks nor bumps the version, so polling never conflicts with operator actions.
   */
  recordPowerState(id: string, state: Machine['powerState'], seenAtMs: number): Promise<void>;
  /**
   * Atomically picks one `ready`, unlocked machine matching `constraints`, marks it `allocated`
   * to `ownerId`, and returns it. Two concurrent calls never get the same machine.
   */
  allocateMachine(
    constraints: AllocationConstraints,
    ownerId: string,
    nowMs: number,
    toStatus: MachineStatus,
  ): Promise<Machine | undefined>;
  /** Machines whose status deadline has passed. */
  machinesPastDeadline(nowMs: number, limit: number): Promise<Machine[]>;
  countMachines(): Promise<number>;

  /** Stores events; ids already stored are skipped. Returns the events that were new. */
  appendEvents(events: readonly NewEvent[], nowMs: number): Promise<EventRecord[]>;
  listEvents(filter: EventFilter): Promise<EventRecord[]>;
  /** Whether an event with this id is stored. */
  hasEvent(id: string): Promise<boolean>;

  insertUser(user: User): Promise<void>;
  getUser(id: string): Promise<User | undefined>;
  getUserByName(username: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  countUsers(): Promise<number>;
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Removes an API key (a signed-out session). True if it existed. */
  deleteApiKey(id: string): Promise<boolean>;
  /** The stored password hash of a user, if they have a password. */
  getPasswordHash(userId: string): Promise<string | undefined>;
  /** Sets (or replaces) a user's password hash. */
  setPasswordHash(userId: string, hash: string, nowMs: number): Promise<void>;
  /** What several controllers on one database share: rack session leases, the event log's end. */
  readonly cluster: ClusterStore;
  /** Brute-force counters shared by every controller on this database (`auth-limiter.ts`). */
  readonly authFailures: AuthFailureStore;
  /** The rack CA shared by controllers on one database, and rack revocation (issue 7). */
  readonly rackTrust: RackTrustStore;

  insertEnrollmentToken(
    tokenHash: string,
    createdBy: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<void>;
  /** Marks an unused, unexpired token used. True if this call used it. */
  consumeEnrollmentToken(tokenHash: string, nowMs: number): Promise<boolean>;
  insertRack(rack: Rack): Promise<void>;
  getRack(id: string): Promise<Rack | undefined>;
  listRacks(): Promise<Rack[]>;
  updateRackSeen(
    id: string,
    update: {
      readonly lastSeenAtMs: number;
      readonly connected: boolean;
      readonly health?: RackHealth | undefined;
      readonly hostname?: string | undefined;
      readonly version?: string | undefined;
      readonly interfaces?: Rack['interfaces'] | undefined;
    },
  ): Promise<void>;

  /** Queues a command for a rack. */
  insertRackCommand(command: {
    readonly id: string;
    readonly rackId: string;
    readonly machineId: string | null;
    readonly body: RackCommandBody;
    readonly createdAtMs: number;
  }): Promise<RackCommand>;
  /** Commands the rack has not acknowledged, oldest first. */
  pendingRackCommands(rackId: string): Promise<RackCommand[]>;
  /** Marks commands acknowledged; returns how many were newly acknowledged. */
  ackRackCommands(rackId: string, ids: readonly string[], nowMs: number): Promise<number>;
  /**
   * Supersedes pending commands of the same kind for the same machine (a new boot plan makes the
   * old one moot). Returns how many were dropped.
   */
  dropPendingRackCommands(
    scope: { readonly machineId: string } | { readonly rackId: string },
    kind: RackCommandBody['kind'],
    nowMs: number,
  ): Promise<number>;
  /** Records which network config version was last queued for a rack. */
  setRackNetworkConfigVersion(rackId: string, version: number): Promise<void>;

  insertBootResource(resource: BootResource): Promise<void>;
  findBootResource(os: string, release: string, arch: string): Promise<BootResource | undefined>;
  getBootResource(id: string): Promise<BootResource | undefined>;
  listBootResources(): Promise<BootResource[]>;
  deleteBootResource(id: string): Promise<boolean>;

  insertSubnet(subnet: Subnet): Promise<void>;
  getSubnet(id: string): Promise<Subnet | undefined>;
  listSubnets(): Promise<Subnet[]>;
  /** Replaces a subnet's fields. False when it does not exist. */
  updateSubnet(subnet: Subnet): Promise<boolean>;
  deleteSubnet(id: string): Promise<boolean>;
  insertReservation(reservation: Reservation): Promise<void>;
  getReservationByMac(mac: string): Promise<Reservation | undefined>;
  getReservationByIp(ip: string): Promise<Reservation | undefined>;
  listReservations(subnetId?: string): Promise<Reservation[]>;
  deleteReservation(mac: string): Promise<boolean>;

  /** Stores a user's SSH key; false when the user already has one with this fingerprint. */
  insertSshKey(key: SshKey): Promise<boolean>;
  /** A user's SSH keys, oldest first. */
  listSshKeys(userId: string): Promise<SshKey[]>;
  /** Deletes one of the user's keys; returns it, or undefined when the user has no such key. */
  deleteSshKey(userId: string, id: string): Promise<SshKey | undefined>;

  /** Sets a machine's metadata token, replacing (and so revoking) any previous one. */
  putMetadataToken(token: MetadataTokenRecord): Promise<void>;
  /** The token with this token key. */
  getMetadataToken(tokenKey: string): Promise<MetadataTokenRecord | undefined>;
  deleteMetadataToken(machineId: string): Promise<boolean>;

  /** Records the disks and NICs commissioning found, replacing earlier ones. */
  putMachineHardware(hardware: MachineHardware): Promise<void>;
  getMachineHardware(machineId: string): Promise<MachineHardware | undefined>;
  /** The hardware of each of these machines that has any (one query for a listing). */
  listMachineHardware(machineIds: readonly string[]): Promise<MachineHardware[]>;

  /** A machine's allocation notes (agent name, owner data); empty when it has none. */
  getAllocationNotes(machineId: string): Promise<AllocationNotes>;
  /** Replaces a machine's allocation notes; empty notes remove them. */
  putAllocationNotes(machineId: string, notes: AllocationNotes): Promise<void>;

  close(): Promise<void>;
}

/** Told when commands were queued for a rack, so a live session can send them at once. */
export interface RackNotifier {
  commandsQueued(rackId: string): void;
  /**
   * BMC access of machines this rack may serve changed (added, edited, removed, moved): resend
   * that of `machineIds`, or of every machine when undefined (the caller does not know which).
   */
  powerConfigsChanged(rackId: string, machineIds?: readonly string[]): void;
  /** The rack was revoked: close its session if this controller holds it. */
  rackRevoked?(rackId: string): void;
}

/** Publishes stored events to live subscribers (websockets). */
export interface EventBus {
  publish(events: readonly EventRecord[]): void;
  subscribe(listener: (event: EventRecord) => void): () => void;
}
