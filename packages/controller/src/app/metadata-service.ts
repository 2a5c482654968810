/**
 * The metadata service's use cases (docs/deploy-contract.md): authenticate a machine by its
 * metadata token, answer what its boot environment and cloud-init ask (identity, keys, user data,
 * install config), and take what they report (hardware facts, reporting events), advancing the
 * lifecycle through the same transition path as rack reports.
 */
import { impliedAction } from '../domain/machine/orchestration.ts';
import { err, ok, type Clock, type Result } from '@ingot/common';
import type { DomainError } from '../domain/errors.ts';
import type { EventRecord, NewEvent } from '../domain/event.ts';
import { COMMISSIONING_IMAGE, type BootResource } from '../domain/image/boot-resource.ts';
import type { MachineAction } from '../domain/machine/lifecycle.ts';
import type { Machine } from '../domain/machine/machine.ts';
import { storageGibOf, type HardwareFacts } from '../domain/metadata/hardware.ts';
import {
  buildInstallConfig,
  installPurpose,
  type InstallConfig,
} from '../domain/metadata/install-config.ts';
import {
  logTail,
  redactSecrets,
  stepResultOf,
  type ReportingEvent,
} from '../domain/metadata/reporting.ts';
import { formatMetadataToken, tokenValidIn } from '../domain/metadata/token.ts';
import { actorName, type Actor } from './actor.ts';
import { reportEventId, secretMatches, uuid } from './ids.ts';
import type { SecretBox } from './secret-box.ts';
import type { EventBus, RackNotifier, Store } from './ports.ts';
import { retryMachineWrite, type MachineWrite } from './retry-machine-write.ts';
import { runTransition, type StatusTimeouts } from './transition-runner.ts';

/** Dependencies of {@link MetadataService}. */
export interface MetadataServiceDeps {
  readonly store: Store;
  readonly bus: EventBus;
  readonly racks: RackNotifier;
  readonly clock: Clock;
  readonly timeouts: StatusTimeouts;
  /** Seals the metadata tokens of queued boot plans (`DATA/secrets.key`). */
  readonly secrets: SecretBox;
}

/** The OAuth PLAINTEXT credentials of a request. */
export interface TokenCredentials {
  readonly consumerKey: string;
  readonly tokenKey: string;
  readonly tokenSecret: string;
}

/** An authenticated machine and the token it presented (to hand back in the install config). */
export interface MetadataCaller {
  readonly machine: Machine;
  readonly token: string;
  readonly secret: string;
}

/** A file attached to a reporting event (cloud-init's `post_files`, the installer's log). */
export interface ReportedFile {
  readonly path: string;
  readonly encoding: string;
  readonly content: string;
}

const DENIED: DomainError = {
  kind: 'unauthenticated',
  detail: 'unknown, revoked or wrongly signed metadata token',
};

/** The metadata use cases. */
export class MetadataService {
  readonly #d: MetadataServiceDeps;

  constructor(deps: MetadataServiceDeps) {
    this.#d = deps;
  }

  /**
   * The machine a token belongs to, if the token is its current one, the signature matches, and
   * the machine's status lets it use the token.
   */
  async authenticate(c: TokenCredentials): Promise<Result<MetadataCaller, DomainError>> {
    const record = await this.#d.store.getMetadataToken(c.tokenKey);
    if (
      record === undefined ||
      record.consumerKey !== c.consumerKey ||
      !secretMatches(c.tokenSecret, record.secretHash)
    ) {
      return err(DENIED);
    }
    const machine = await this.#d.store.getMachine(record.machineId);
    if (machine === undefined) return err(DENIED);
    if (!tokenValidIn(machine.status, machine.bootPurpose)) {
      return err({
        kind: 'unauthenticated',
        detail: `machine ${machine.id} is ${machine.status}: its metadata token is not valid now`,
      });
    }
    const token = formatMetadataToken({
      consumerKey: c.consumerKey,
      tokenKey: c.tokenKey,
      secret: c.tokenSecret,
    });
    return ok({ machine, token, secret: c.tokenSecret });
  }

  /** The machine owner's SSH keys, one `authorized_keys` line each. */
  async publicKeys(caller: MetadataCaller): Promise<string[]> {
    const owner = caller.machine.ownerId;
    return owner === null ? [] : (await this.#d.store.listSshKeys(owner)).map((k) => k.key);
  }

  /**
   * The deployment's user data (empty when none). cloud-init asks for it from the deployed OS, so
   * while the machine is `deploying` this marks it `deployed` (MAAS does the same).
   */
  async userData(caller: MetadataCaller): Promise<Result<string, DomainError>> {
    const { machine } = caller;
    const userData = machine.deployment?.userData ?? '';
    if (machine.status !== 'deploying') return ok(userData);
    const step = {
      step: 'cloudinit.user-data',
      result: 'succeeded' as const,
      message: 'cloud-init fetched its user data: the deployed OS is up',
      data: {},
    };
    const done = await this.#record(machine.id, step, () => 'deployed');
    return done.ok ? ok(userData) : done;
  }

  /** The install config, with URLs through the agent the machine reached (`agentBaseUrl`). */
  async installConfig(caller: MetadataCaller, agentBaseUrl: string): Promise<InstallConfig> {
    const { machine } = caller;
    const purpose = installPurpose(machine);
    let image: BootResource | undefined;
    if (purpose === 'commission' || purpose === 'erase') {
      const { os, release } = COMMISSIONING_IMAGE;
      image = await this.#d.store.findBootResource(os, release, machine.arch);
    } else if (machine.deployment !== null) {
      const { os, release } = machine.deployment;
      image = await this.#d.store.findBootResource(os, release, machine.arch);
    }
    return buildInstallConfig({
      machine,
      image,
      sshKeys: await this.publicKeys(caller),
      agentBaseUrl,
      token: caller.token,
    });
  }

  /** Records hardware facts and ends commissioning (`commissioned` → `ready`). */
  async commissioning(
    caller: MetadataCaller,
    facts: HardwareFacts,
  ): Promise<Result<Machine, DomainError>> {
    const id = caller.machine.id;
    const storageGib = storageGibOf(facts.disks);
    return retryMachineWrite(this.#d, id, this.#actor(id), async (machine, tx, now) => {
      const outcome = await runTransition(
        tx,
        machine,
        {
          action: 'commissioned',
          actor: this.#actor(id),
          message: `Commissioned: ${facts.cpuCount} CPUs, ${facts.memoryMib} MiB, ${storageGib} GiB on ${facts.disks.length} disks, ${facts.nics.length} NICs`,
          patch: { cpuCount: facts.cpuCount, memoryMib: facts.memoryMib, storageGib },
          data: { disks: facts.disks.length, nics: facts.nics.length },
        },
        now,
        this.#d.timeouts,
        this.#d.secrets,
      );
      if (!outcome.ok) return outcome;
      await tx.putMachineHardware({
        machineId: id,
        disks: facts.disks,
        nics: facts.nics,
        recordedAtMs: now,
      });
      return outcome;
    });
  }

  /**
   * Records a reporting event for machine `machineId` (the path's; another machine's is
   * `forbidden`), and the transition its result implies (a failure ends the busy status; an
   * `erase` success ends the release).
   */
  async report(
    caller: MetadataCaller,
    machineId: string,
    event: ReportingEvent,
    files: readonly ReportedFile[],
  ): Promise<Result<void, DomainError>> {
    if (machineId !== caller.machine.id) {
      return err({
        kind: 'forbidden',
        detail: 'a metadata token reports for its own machine only',
      });
    }
    const secrets = [caller.token, caller.secret];
    const result = stepResultOf(event);
    const data: Record<string, unknown> = { origin: event.origin, event_type: event.eventType };
    if (event.progress !== undefined) {
      data.bytes_done = event.progress.done;
      data.bytes_total = event.progress.total;
    }
    if (files.length > 0) {
      data.files = files.map((f) => f.path);
      const text = files
        .map((f) => {
          const bytes = Buffer.from(f.content, f.encoding === 'base64' ? 'base64' : 'utf8');
          return files.length === 1
            ? bytes.toString('utf8')
            : `==> ${f.path} <==\n${bytes.toString('utf8')}`;
        })
        .join('\n');
      data.log_tail = logTail(text, secrets);
    }
    const step = {
      step: event.name,
      result,
      message: redactSecrets(event.description, secrets),
      data,
      occurredAtMs:
        event.timestamp !== undefined && Number.isFinite(event.timestamp)
          ? Math.round(event.timestamp * 1000)
          : undefined,
    };
    if (event.id !== undefined) data.report_id = event.id;
    const done = await this.#record(machineId, { ...step, reportId: event.id }, (m) =>
      impliedAction(m, { step: event.name, result }),
    );
    return done.ok ? ok(undefined) : done;
  }

  #actor(machineId: string): Actor {
    return { kind: 'machine', machineId };
  }

  /**
   * Stores one step event from the machine and, when `actionFor` names one, the transition it
   * implies, in one transaction (the step first, as `RackService.recordEvents` does).
   */
  async #record(
    machineId: string,
    step: {
      readonly step: string;
      readonly result: NewEvent['result'];
      readonly message: string;
      readonly data: Record<string, unknown>;
      readonly occurredAtMs?: number | undefined;
      /** The client's report id: stored once per machine (see `report`). */
      readonly reportId?: string | undefined;
    },
    actionFor: (machine: Machine) => MachineAction | undefined,
  ): Promise<Result<Machine, DomainError>> {
    const actor = this.#actor(machineId);
    return retryMachineWrite(this.#d, machineId, actor, async (machine, tx, now) => {
      const event: NewEvent = {
        id: step.reportId === undefined ? uuid() : reportEventId(machineId, step.reportId),
        kind: 'step',
        machineId,
        rackId: machine.rackId,
        step: step.step,
        result: step.result,
        fromStatus: null,
        toStatus: null,
        actor: actorName(actor),
        message: step.message,
        data: step.data,
        occurredAtMs: step.occurredAtMs ?? now,
      };
      const lastStep = {
        step: step.step,
        result: step.result,
        message: step.message,
        atMs: event.occurredAtMs,
      };
      // A report with an id claims it first, through the events table's unique id: of two
      // deliveries (a retry, or two controllers at once) exactly one inserts the row; the other
      // changes nothing and is acknowledged the same. On PostgreSQL the loser waits for the
      // winner's commit and then conflicts (or aborts with 40001 and runs again, seeing it).
      // Should the rest of the attempt go stale, the claim is rolled back with it.
      let appended: readonly EventRecord[] = [];
      if (step.reportId !== undefined) {
        appended = await tx.appendEvents([event], now);
        if (appended.length === 0) return ok({ machine, events: [], racksToNotify: [] });
      }
      const claimed = appended.length > 0;
      const action = actionFor(machine);
      if (action === undefined) {
        const updated = await tx.updateMachine(machineId, machine.version, { lastStep }, now);
        if (updated === undefined) return err({ kind: 'stale', machineId });
        return ok({
          machine: updated,
          events: claimed ? [] : [event],
          racksToNotify: [],
          appended,
        });
      }
      const failed = step.result === 'failed';
      const outcome = await runTransition(
        tx,
        machine,
        {
          action,
          actor,
          message: failed
            ? `${step.step} failed: ${step.message}`
            : action === 'deployed'
              ? 'Deployed'
              : step.message,
          patch: { lastStep },
          data: {
            cause: event.id,
            step: step.step,
            ...(step.data.log_tail === undefined ? {} : { log_tail: step.data.log_tail }),
          },
        },
        now,
        this.#d.timeouts,
        this.#d.secrets,
      );
      if (!outcome.ok) return outcome;
      const write: MachineWrite = {
        ...outcome.value,
        events: claimed ? outcome.value.events : [event, ...outcome.value.events],
        appended,
      };
      return ok(write);
    });
  }
}
