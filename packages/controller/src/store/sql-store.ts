/**
 * The `Store` over Kysely: one query layer for SQLite (the embedded default) and PostgreSQL
 * (several controllers). The few statements whose correctness under contention differs between
 * the two branch on `dialect` (TOOLCHAIN.md: the SQLite allocation statement double-allocates on
 * PostgreSQL, and `FOR UPDATE SKIP LOCKED` is a syntax error in SQLite).
 */
import type { Kysely, Transaction } from 'kysely';
import type { EventRecord, NewEvent } from '../domain/event.ts';
import type { MachineStatus } from '../domain/machine/lifecycle.ts';
import type { AllocationConstraints, Machine } from '../domain/machine/machine.ts';
import type { Rack, RackCommand, RackCommandBody } from '../domain/rack.ts';
import type { ApiKeyRecord, User } from '../domain/user.ts';
import type { EventFilter, MachineFilter, MachinePatch, NewMachine, Store } from '../app/ports.ts';
import type { Dialect } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { allocateRow } from './sql-allocation.ts';
import { hydrateMachines, writeMacsAndTags } from './sql-machine-rows.ts';
import { lockEventLog, retryTransaction } from './postgres-retry.ts';
import * as accounts from './sql-accounts.ts';
import * as passwords from './sql-passwords.ts';
import { SqlAuthFailures } from './sql-auth-failures.ts';
import { SqlRackTrust } from './sql-rack-trust.ts';
import * as eventLog from './sql-events.ts';
import { SqlClusterStore } from './sql-cluster.ts';
import * as racks from './sql-racks.ts';
import * as subnets from './sql-subnets.ts';
import * as images from './sql-images.ts';
import * as metadata from './sql-metadata.ts';
import type { SshKey } from '../domain/ssh-key.ts';
import type { MetadataTokenRecord } from '../domain/metadata/token.ts';
import type { MachineHardware } from '../domain/metadata/hardware.ts';
import type { AllocationNotes } from '../domain/machine/allocation-notes.ts';
import * as notes from './sql-allocation-notes.ts';
import type { BootResource } from '../domain/image/boot-resource.ts';
import type { Reservation, Subnet } from '../domain/network/subnet.ts';
import { machineColumns } from './rows.ts';

/** A `Store` on a Kysely database of either dialect. */
export class SqlStore implements Store {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  readonly #inTransaction: boolean;
  readonly #onClose: () => Promise<void>;

  constructor(
    db: Kysely<Database>,
    dialect: Dialect,
    onClose: () => Promise<void> = () => db.destroy(),
    inTransaction = false,
  ) {
    this.#db = db;
    this.#dialect = dialect;
    this.#onClose = onClose;
    this.#inTransaction = inTransaction;
  }

  get authFailures(): SqlAuthFailures {
    return new SqlAuthFailures(this.#db);
  }

  get rackTrust(): SqlRackTrust {
    return new SqlRackTrust(this.#db);
  }

  get cluster(): SqlClusterStore {
    return new SqlClusterStore(this.#db, this.#dialect);
  }

  async transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    return this.#transaction(work);
  }

  /** Like `transaction`, typed as this class so methods can reach the transaction's connection. */
  async #transaction<T>(work: (tx: SqlStore) => Promise<T>): Promise<T> {
    if (this.#inTransaction) return work(this);
    const run = (trx: Transaction<Database>): Promise<T> =>
      work(new SqlStore(trx, this.#dialect, () => Promise.resolve(), true));
    if (this.#dialect === 'sqlite') return this.#db.transaction().execute(run);
    // PostgreSQL: one snapshot per transaction, run again when it aborts (postgres-retry.ts).
    return retryTransaction(() =>
      this.#db.transaction().setIsolationLevel('repeatable read').execute(run),
    );
  }

  async insertMachine(machine: NewMachine): Promise<void> {
    await this.#transaction(async (tx) => {
      const db = tx.#db;
      await db
        .insertInto('machines')
        .values({
          ...(machineColumns({
            ...machine,
            version: 1,
            updatedAtMs: machine.createdAtMs,
          }) as Database['machines']),
        })
        .execute();
      await tx.#writeMacsAndTags(machine.id, machine.macs, machine.tags);
    });
  }

  async #writeMacsAndTags(
    id: string,
    macs: readonly string[] | undefined,
    tags: readonly string[] | undefined,
  ): Promise<void> {
    await writeMacsAndTags(this.#db, id, macs, tags);
  }

  async #hydrate(rows: Database['machines'][]): Promise<Machine[]> {
    return hydrateMachines(this.#db, rows);
  }

  async getMachine(id: string): Promise<Machine | undefined> {
    const rows = await this.#db.selectFrom('machines').selectAll().where('id', '=', id).execute();
    return (await this.#hydrate(rows))[0];
  }

  async getMachineByMac(mac: string): Promise<Machine | undefined> {
    const row = await this.#db
      .selectFrom('machine_macs')
      .select('machine_id')
      .where('mac', '=', mac)
      .executeTakeFirst();
    return row === undefined ? undefined : this.getMachine(row.machine_id);
  }

  async getMachineByHostname(hostname: string): Promise<Machine | undefined> {
    const rows = await this.#db
      .selectFrom('machines')
      .selectAll()
      .where('hostname', '=', hostname)
      .execute();
    return (await this.#hydrate(rows))[0];
  }

  async countMachinesByStatus(): Promise<Map<MachineStatus, number>> {
    const rows = await this.#db
      .selectFrom('machines')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    return new Map(rows.map((r) => [r.status as MachineStatus, r.n]));
  }

  async listMachines(filter: MachineFilter): Promise<Machine[]> {
    let q = this.#db.selectFrom('machines').selectAll();
    if (filter.visibleTo !== undefined) {
      const userId = filter.visibleTo;
      q = q.where((eb) => eb.or([eb('owner_id', 'is', null), eb('owner_id', '=', userId)]));
    }
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.hostname !== undefined) q = q.where('hostname', '=', filter.hostname);
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', [...filter.ids]);
    }
    q = q.orderBy('hostname');
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    // SQLite accepts OFFSET only after a LIMIT, where -1 means none (PostgreSQL takes it alone).
    else if (filter.offset !== undefined && this.#dialect === 'sqlite') q = q.limit(-1);
    if (filter.offset !== undefined) q = q.offset(filter.offset);
    return this.#hydrate(await q.execute());
  }

  async updateMachine(
    id: string,
    expectedVersion: number,
    patch: MachinePatch,
    nowMs: number,
  ): Promise<Machine | undefined> {
    return this.#transaction(async (self) => {
      const { macs, tags, ...scalar } = patch;
      const result = await self.#db
        .updateTable('machines')
        .set({ ...machineColumns(scalar), version: expectedVersion + 1, updated_at: nowMs })
        .where('id', '=', id)
        .where('version', '=', expectedVersion)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return undefined;
      await self.#writeMacsAndTags(id, macs, tags);
      return self.getMachine(id);
    });
  }

  async recordPowerState(
    id: string,
    state: Machine['powerState'],
    seenAtMs: number,
  ): Promise<void> {
    await this.#db
      .updateTable('machines')
      .set({ power_state: state, power_seen_at: seenAtMs })
      .where('id', '=', id)
      .execute();
  }

  async deleteMachine(id: string): Promise<boolean> {
    return this.#transaction(async (tx) => {
      const db = tx.#db;
      await db.deleteFrom('machine_macs').where('machine_id', '=', id).execute();
      await db.deleteFrom('machine_tags').where('machine_id', '=', id).execute();
      const r = await db.deleteFrom('machines').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  async allocateMachine(
    constraints: AllocationConstraints,
    ownerId: string,
    nowMs: number,
    toStatus: MachineStatus,
  ): Promise<Machine | undefined> {
    const row = await allocateRow(this.#db, this.#dialect, constraints, ownerId, nowMs, toStatus);
    if (row === undefined) return undefined;
    return (await this.#hydrate([row]))[0];
  }

  async machinesPastDeadline(nowMs: number, limit: number): Promise<Machine[]> {
    const rows = await this.#db
      .selectFrom('machines')
      .selectAll()
      .where('status_deadline', 'is not', null)
      .where('status_deadline', '<=', nowMs)
      .orderBy('status_deadline')
      .limit(limit)
      .execute();
    return this.#hydrate(rows);
  }

  async countMachines(): Promise<number> {
    const r = await this.#db
      .selectFrom('machines')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async appendEvents(events: readonly NewEvent[], nowMs: number): Promise<EventRecord[]> {
    if (this.#dialect === 'sqlite') return eventLog.appendEvents(this.#db, events, nowMs);
    if (events.length === 0) return [];
    return this.#transaction(async (tx) => {
      // Lock order: the rows of the machines these events are about, then the event log. A
      // transaction that appends and then updates the machine (rack events, metadata reports
      // with an id) otherwise holds the log while waiting for the row, against one that updated
      // the row and waits for the log: a deadlock, found only after deadlock_timeout, and
      // retried until it loses again (issue 7 failover: the survivor's rack session stalled
      // for minutes behind its retried event batches).
      const machineIds = [
        ...new Set(events.flatMap((e) => (e.machineId === null ? [] : [e.machineId]))),
      ].sort();
      if (machineIds.length > 0) {
        await tx.#db
          .selectFrom('machines')
          .select('id')
          .where('id', 'in', machineIds)
          .orderBy('id')
          .forNoKeyUpdate()
          .execute();
      }
      await lockEventLog(tx.#db);
      return eventLog.appendEvents(tx.#db, events, nowMs);
    });
  }

  async listEvents(filter: EventFilter): Promise<EventRecord[]> {
    return eventLog.listEvents(this.#db, filter);
  }

  async hasEvent(id: string): Promise<boolean> {
    return eventLog.hasEvent(this.#db, id);
  }

  async insertUser(user: User): Promise<void> {
    return accounts.insertUser(this.#db, user);
  }

  async getUser(id: string): Promise<User | undefined> {
    return accounts.getUser(this.#db, id);
  }

  async getUserByName(username: string): Promise<User | undefined> {
    return accounts.getUserByName(this.#db, username);
  }

  async listUsers(): Promise<User[]> {
    return accounts.listUsers(this.#db);
  }

  async countUsers(): Promise<number> {
    return accounts.countUsers(this.#db);
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    return accounts.insertApiKey(this.#db, key);
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return accounts.getApiKey(this.#db, id);
  }

  async deleteApiKey(id: string): Promise<boolean> {
    return passwords.deleteApiKey(this.#db, id);
  }

  async getPasswordHash(userId: string): Promise<string | undefined> {
    return passwords.getPasswordHash(this.#db, userId);
  }

  async setPasswordHash(userId: string, hash: string, nowMs: number): Promise<void> {
    return passwords.setPasswordHash(this.#db, userId, hash, nowMs);
  }

  async insertEnrollmentToken(
    tokenHash: string,
    createdBy: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<void> {
    return accounts.insertEnrollmentToken(this.#db, tokenHash, createdBy, expiresAtMs, nowMs);
  }

  async consumeEnrollmentToken(tokenHash: string, nowMs: number): Promise<boolean> {
    return accounts.consumeEnrollmentToken(this.#db, tokenHash, nowMs);
  }

  async insertRack(rack: Rack): Promise<void> {
    return racks.insertRack(this.#db, rack);
  }

  async getRack(id: string): Promise<Rack | undefined> {
    return racks.getRack(this.#db, id);
  }

  async listRacks(): Promise<Rack[]> {
    return racks.listRacks(this.#db);
  }

  async updateRackSeen(id: string, update: Parameters<Store['updateRackSeen']>[1]): Promise<void> {
    return racks.updateRackSeen(this.#db, id, update);
  }

  async insertRackCommand(
    command: Parameters<Store['insertRackCommand']>[0],
  ): Promise<RackCommand> {
    return racks.insertRackCommand(this.#db, command);
  }

  async pendingRackCommands(rackId: string): Promise<RackCommand[]> {
    return racks.pendingRackCommands(this.#db, rackId);
  }

  async ackRackCommands(rackId: string, ids: readonly string[], nowMs: number): Promise<number> {
    return racks.ackRackCommands(this.#db, rackId, ids, nowMs);
  }

  async dropPendingRackCommands(
    scope: Parameters<Store['dropPendingRackCommands']>[0],
    kind: RackCommandBody['kind'],
    nowMs: number,
  ): Promise<number> {
    return racks.dropPendingRackCommands(this.#db, scope, kind, nowMs);
  }

  async setRackNetworkConfigVersion(rackId: string, version: number): Promise<void> {
    return racks.setRackNetworkConfigVersion(this.#db, rackId, version);
  }

  async insertBootResource(resource: BootResource): Promise<void> {
    return images.insertBootResource(this.#db, resource);
  }

  async findBootResource(
    os: string,
    release: string,
    arch: string,
  ): Promise<BootResource | undefined> {
    return images.findBootResource(this.#db, os, release, arch);
  }

  async getBootResource(id: string): Promise<BootResource | undefined> {
    return images.getBootResource(this.#db, id);
  }

  async listBootResources(): Promise<BootResource[]> {
    return images.listBootResources(this.#db);
  }

  async deleteBootResource(id: string): Promise<boolean> {
    return images.deleteBootResource(this.#db, id);
  }

  async insertSubnet(subnet: Subnet): Promise<void> {
    return subnets.insertSubnet(this.#db, subnet);
  }

  async getSubnet(id: string): Promise<Subnet | undefined> {
    return subnets.getSubnet(this.#db, id);
  }

  async listSubnets(): Promise<Subnet[]> {
    return subnets.listSubnets(this.#db);
  }

  async updateSubnet(subnet: Subnet): Promise<boolean> {
    return subnets.updateSubnet(this.#db, subnet);
  }

  async deleteSubnet(id: string): Promise<boolean> {
    return this.#transaction((tx) => subnets.deleteSubnet(tx.#db, id));
  }

  async insertReservation(reservation: Reservation): Promise<void> {
    return subnets.insertReservation(this.#db, reservation);
  }

  async getReservationByMac(mac: string): Promise<Reservation | undefined> {
    return subnets.getReservation(this.#db, 'mac', mac);
  }

  async getReservationByIp(ip: string): Promise<Reservation | undefined> {
    return subnets.getReservation(this.#db, 'ip', ip);
  }

  async listReservations(subnetId?: string): Promise<Reservation[]> {
    return subnets.listReservations(this.#db, subnetId);
  }

  async deleteReservation(mac: string): Promise<boolean> {
    return subnets.deleteReservation(this.#db, mac);
  }

  async insertSshKey(key: SshKey): Promise<boolean> {
    return metadata.insertSshKey(this.#db, key);
  }

  async listSshKeys(userId: string): Promise<SshKey[]> {
    return metadata.listSshKeys(this.#db, userId);
  }

  async deleteSshKey(userId: string, id: string): Promise<SshKey | undefined> {
    return metadata.deleteSshKey(this.#db, userId, id);
  }

  async putMetadataToken(token: MetadataTokenRecord): Promise<void> {
    return metadata.putMetadataToken(this.#db, token);
  }

  async getMetadataToken(tokenKey: string): Promise<MetadataTokenRecord | undefined> {
    return metadata.getMetadataToken(this.#db, tokenKey);
  }

  async deleteMetadataToken(machineId: string): Promise<boolean> {
    return metadata.deleteMetadataToken(this.#db, machineId);
  }

  async putMachineHardware(hardware: MachineHardware): Promise<void> {
    return metadata.putMachineHardware(this.#db, hardware);
  }

  async getMachineHardware(machineId: string): Promise<MachineHardware | undefined> {
    return metadata.getMachineHardware(this.#db, machineId);
  }

  async listMachineHardware(machineIds: readonly string[]): Promise<MachineHardware[]> {
    return metadata.listMachineHardware(this.#db, machineIds);
  }

  async getAllocationNotes(machineId: string): Promise<AllocationNotes> {
    return notes.getAllocationNotes(this.#db, machineId);
  }

  async putAllocationNotes(machineId: string, value: AllocationNotes): Promise<void> {
    return notes.putAllocationNotes(this.#db, machineId, value);
  }

  async close(): Promise<void> {
    await this.#onClose();
  }
}
