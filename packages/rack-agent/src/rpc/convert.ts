/**
 * Proto ⇄ domain conversion (STYLE.md §2): generated types stop here. Incoming messages are
 * validated on the way in, so the rest of the agent only sees well-formed domain values.
 */
import { err, ok, type Result } from '@ingot/common';
import type {
  BootFile as ProtoBootFile,
  Command,
  Heartbeat,
  Hello,
  Interface,
  LeaseEvent as ProtoLeaseEvent,
  PowerResult,
  RegisterResponse,
  SessionRequest,
  StatusEvent as ProtoStatusEvent,
} from '@ingot/proto/rack/v1';
import { BOOT_PURPOSES, type BootFile, type BootPlan } from '../domain/boot-plan.ts';
import { POWER_ACTIONS, type AgentCommand, type PowerReport } from '../domain/commands.ts';
import type { LeaseEvent, OutboxRecord, StatusEvent } from '../domain/events.ts';
import type { AgentInterface, RackIdentity } from '../domain/identity.ts';
import { parseMacAddress, type MacAddress } from '../domain/mac-address.ts';
import { DHCP_MODES, type NetworkConfig } from '../domain/network-config.ts';

/** Most events in one `StatusEvents`/`LeaseEvents` message; bounds message size. */
export const MAX_EVENTS_PER_MESSAGE = 500;

/** Why a command could not be turned into an {@link AgentCommand}. */
export type CommandRejection =
  /** A `kind` this agent does not know (a newer controller): left unacknowledged. */
  | { readonly kind: 'unknown-command'; readonly commandId: string }
  /** A known kind with bad content: acknowledged with an error so it is not resent forever. */
  | {
      readonly kind: 'invalid-command';
      readonly commandId: string;
      readonly commandKind: AgentCommand['kind'];
      readonly machineId: string;
      readonly message: string;
    };

/** A value that failed validation; `message` says which part. */
export interface Invalid {
  readonly kind: 'invalid';
  readonly message: string;
}

function invalidValue(message: string): { readonly ok: false; readonly error: Invalid } {
  return err({ kind: 'invalid', message });
}

/** Converts and validates a controller command. */
export function toAgentCommand(command: Command): Result<AgentCommand, CommandRejection> {
  const { id } = command;
  const kind = command.kind;
  if (kind === undefined) return err({ kind: 'unknown-command', commandId: id });
  const invalid = (
    commandKind: AgentCommand['kind'],
    message: string,
    machineId = '',
  ): Result<AgentCommand, CommandRejection> =>
    err({ kind: 'invalid-command', commandId: id, commandKind, machineId, message });

  switch (kind.$case) {
    case 'networkConfig': {
      const config = toNetworkConfig(kind.value);
      if (id === '') return invalid('network-config', 'command id is empty');
      return config.ok
        ? ok({ id, kind: 'network-config', config: config.value })
        : invalid('network-config', config.error.message);
    }
    case 'bootPlan': {
      const plan = toBootPlan(kind.value);
      if (id === '') return invalid('boot-plan', 'command id is empty', kind.value.machineId);
      return plan.ok
        ? ok({ id, kind: 'boot-plan', plan: plan.value })
        : invalid('boot-plan', plan.error.message, kind.value.machineId);
    }
    case 'removeBootPlan': {
      const { machineId } = kind.value;
      if (id === '' || machineId === '') {
        return invalid('remove-boot-plan', 'command id and machine id are required', machineId);
      }
      return ok({ id, kind: 'remove-boot-plan', machineId });
    }
    case 'power': {
      const { machineId, action, driver, paramsJson, pxeOnce, uefi } = kind.value;
      if (id === '' || machineId === '') {
        return invalid('power', 'command id and machine id are required', machineId);
      }
      const knownAction = POWER_ACTIONS.find((candidate) => candidate === action);
      if (knownAction === undefined) {
        return invalid('power', `unknown power action "${action}"`, machineId);
      }
      let params: unknown;
      try {
        params = paramsJson === '' ? undefined : (JSON.parse(paramsJson) as unknown);
      } catch {
        // Never echo the JSON: it holds the BMC password.
        return invalid('power', 'power parameters are not valid JSON', machineId);
      }
      return ok({
        id,
        kind: 'power',
        request: { machineId, action: knownAction, driver, params, pxeOnce, uefi },
      });
    }
    case 'powerConfig': {
      const { machineId, driver, paramsJson } = kind.value;
      if (id === '' || machineId === '') {
        return invalid('power-config', 'command id and machine id are required', machineId);
      }
      let params: unknown;
      try {
        params = paramsJson === '' ? undefined : (JSON.parse(paramsJson) as unknown);
      } catch {
        // Never echo the JSON: it holds the BMC password.
        return invalid('power-config', 'power parameters are not valid JSON', machineId);
      }
      return ok({ id, kind: 'power-config', machineId, driver, params });
    }
    case 'prefetch':
      if (id === '') return invalid('prefetch', 'command id is empty');
      return ok({ id, kind: 'prefetch', files: kind.value.files.map(toBootFile) });
    default:
      return err({ kind: 'unknown-command', commandId: id });
  }
}

function toNetworkConfig(
  config: Extract<Command['kind'], { $case: 'networkConfig' }>['value'],
): Result<NetworkConfig, Invalid> {
  const subnets: NetworkConfig['subnets'][number][] = [];
  for (const subnet of config.subnets) {
    // Unset means "do not serve DHCP": the safe reading of a controller that said nothing.
    const mode = subnet.dhcpMode === '' ? 'none' : DHCP_MODES.find((m) => m === subnet.dhcpMode);
    if (mode === undefined)
      return invalidValue(`subnet ${subnet.cidr}: unknown dhcp_mode "${subnet.dhcpMode}"`);
    subnets.push({
      cidr: subnet.cidr,
      gateway: subnet.gateway,
      dnsServers: subnet.dnsServers,
      dynamicRanges: subnet.dynamicRanges.map(({ start, end }) => ({ start, end })),
      leaseSeconds: subnet.leaseSeconds,
      domain: subnet.domain,
      dhcpMode: mode,
      interface: subnet.interface,
    });
  }
  const reservations: NetworkConfig['reservations'][number][] = [];
  for (const reservation of config.reservations) {
    const mac = parseMacAddress(reservation.mac);
    if (mac === undefined)
      return invalidValue(`reservation ${reservation.ip}: bad MAC "${reservation.mac}"`);
    reservations.push({ ...reservation, mac });
  }
  return ok({ version: config.version, subnets, reservations });
}

function toBootPlan(
  plan: Extract<Command['kind'], { $case: 'bootPlan' }>['value'],
): Result<BootPlan, Invalid> {
  if (plan.machineId === '') return invalidValue('boot plan without machine id');
  const macs: MacAddress[] = [];
  for (const text of plan.macs) {
    const mac = parseMacAddress(text);
    if (mac === undefined) return invalidValue(`bad MAC "${text}"`);
    macs.push(mac);
  }
  const purpose = BOOT_PURPOSES.find((candidate) => candidate === plan.purpose);
  if (purpose === undefined) return invalidValue(`unknown boot purpose "${plan.purpose}"`);
  return ok({
    machineId: plan.machineId,
    version: plan.version,
    macs,
    purpose,
    os: plan.os,
    release: plan.release,
    arch: plan.arch,
    kernelParams: plan.kernelParams,
    files: plan.files.map(toBootFile),
    hostname: plan.hostname,
    metadataToken: plan.metadataToken,
  });
}

function toBootFile(file: ProtoBootFile): BootFile {
  return { role: file.role, sha256: file.sha256, sizeBytes: file.sizeBytes, name: file.name };
}

/** A status event on the wire. */
export function toProtoStatusEvent(event: StatusEvent): ProtoStatusEvent {
  return {
    id: event.id,
    machineId: event.machineId,
    mac: event.mac,
    step: event.step,
    result: event.result,
    message: event.message,
    occurredAtMs: event.occurredAtMs,
    dataJson: Object.keys(event.data).length === 0 ? '' : JSON.stringify(event.data),
  };
}

/** A lease event on the wire. */
export function toProtoLeaseEvent(event: LeaseEvent): ProtoLeaseEvent {
  return { ...event };
}

/**
 * Packs outbox records into session messages, keeping seq order: consecutive records of one
 * kind share a message (at most {@link MAX_EVENTS_PER_MESSAGE}), a change of kind starts a new
 * one, so the controller sees events in the order they happened.
 */
export function toOutboxRequests(records: readonly OutboxRecord[]): SessionRequest[] {
  const requests: SessionRequest[] = [];
  let status: ProtoStatusEvent[] | undefined;
  let leases: ProtoLeaseEvent[] | undefined;
  for (const record of records) {
    if (record.kind === 'status') {
      leases = undefined;
      if (status === undefined || status.length >= MAX_EVENTS_PER_MESSAGE) {
        status = [];
        requests.push({ kind: { $case: 'events', value: { events: status } } });
      }
      status.push(toProtoStatusEvent(record.event));
    } else {
      status = undefined;
      if (leases === undefined || leases.length >= MAX_EVENTS_PER_MESSAGE) {
        leases = [];
        requests.push({ kind: { $case: 'leases', value: { leases } } });
      }
      leases.push(toProtoLeaseEvent(record.event));
    }
  }
  return requests;
}

/** The answer to a power command. */
export function toProtoPowerResult(commandId: string, report: PowerReport): PowerResult {
  return {
    commandId,
    machineId: report.machineId,
    ok: report.ok,
    powerState: report.state,
    errorKind: report.errorKind ?? '',
    message: report.message,
    observedAtMs: report.observedAtMs,
  };
}

/** An interface on the wire. */
export function toProtoInterface(iface: AgentInterface): Interface {
  return { name: iface.name, mac: iface.mac, cidrs: [...iface.cidrs] };
}

/** What the agent says first on every session. */
export interface HelloInfo {
  readonly version: string;
  readonly hostname: string;
  readonly interfaces: readonly AgentInterface[];
  /** Network config version held (0: none). */
  readonly networkConfigVersion: number;
}

/** The first message of a session. */
export function toProtoHello(info: HelloInfo): Hello {
  return {
    version: info.version,
    hostname: info.hostname,
    interfaces: info.interfaces.map(toProtoInterface),
    networkConfigVersion: info.networkConfigVersion,
  };
}

/** The agent's health, sent every heartbeat interval. */
export interface HeartbeatInfo {
  readonly sentAtMs: number;
  readonly uptimeSeconds: number;
  readonly outboxDepth: number;
  readonly bootPlans: number;
  readonly rssBytes: number;
  readonly services: Readonly<Record<string, string>>;
}

/** A heartbeat on the wire. */
export function toProtoHeartbeat(info: HeartbeatInfo): Heartbeat {
  return { ...info, services: { ...info.services } };
}

/** The identity in a Register answer; an answer without id or secret is a controller bug. */
export function toRackIdentity(response: RegisterResponse): Result<RackIdentity, Invalid> {
  if (response.rackId === '' || response.rackSecret === '') {
    return invalidValue('controller answered Register without a rack id or secret');
  }
  return ok({ rackId: response.rackId, rackSecret: response.rackSecret, name: response.name });
}
