/**
 * Proto ⇄ domain conversion. Generated types stop here (STYLE.md §2): nothing outside `rpc/`
 * sees a proto message.
 */
import { STEP_RESULTS, type StepResult } from '@ingot/common';
import type { Command, Heartbeat, Interface, PowerResult, StatusEvent } from '@ingot/proto/rack/v1';
import type { PowerState } from '../domain/machine/machine.ts';
import type { RackCommand, RackHealth, RackInterface } from '../domain/rack.ts';
import type { RackPowerResult, RackStepEvent } from '../app/rack-service.ts';
import { openPowerParams, type SecretBox } from '../app/secret-box.ts';
import { openQueuedToken } from '../app/metadata-token.ts';

/** Converts reported interfaces. */
export function interfacesFromProto(list: readonly Interface[]): RackInterface[] {
  return list.map((i) => ({ name: i.name, mac: i.mac, cidrs: [...i.cidrs] }));
}

/** Converts a heartbeat into rack health. */
export function healthFromProto(h: Heartbeat): RackHealth {
  return {
    uptimeSeconds: h.uptimeSeconds,
    outboxDepth: h.outboxDepth,
    bootPlans: h.bootPlans,
    rssBytes: h.rssBytes,
    services: { ...h.services },
  };
}

function stepResult(value: string): StepResult {
  return (STEP_RESULTS as readonly string[]).includes(value) ? (value as StepResult) : 'info';
}

function parseData(json: string): Record<string, unknown> {
  if (json.length === 0) return {};
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { value };
  } catch {
    // A rack with a bug should not lose the event over its details: keep them as text.
    return { raw: json };
  }
}

/** Converts a status event. */
export function stepEventFromProto(e: StatusEvent): RackStepEvent {
  return {
    id: e.id,
    machineId: e.machineId,
    mac: e.mac,
    step: e.step,
    result: stepResult(e.result),
    message: e.message,
    occurredAtMs: e.occurredAtMs,
    data: parseData(e.dataJson),
  };
}

/** Converts a power result. */
export function powerResultFromProto(p: PowerResult): RackPowerResult {
  const state: PowerState =
    p.powerState === 'on' || p.powerState === 'off' ? p.powerState : 'unknown';
  return {
    commandId: p.commandId,
    machineId: p.machineId,
    ok: p.ok,
    powerState: state,
    errorKind: p.errorKind,
    message: p.message,
    observedAtMs: p.observedAtMs,
  };
}

/**
 * Converts a queued command to its proto form. Power parameters are stored sealed; this is the
 * one place they are opened, for the rack that needs them.
 */
export function commandToProto(c: RackCommand, secrets: SecretBox): Command {
  const b = c.body;
  switch (b.kind) {
    case 'boot-plan':
      return {
        id: c.id,
        kind: {
          $case: 'bootPlan',
          value: {
            machineId: b.machineId,
            macs: [...b.macs],
            purpose: b.purpose,
            os: b.os,
            release: b.release,
            arch: b.arch,
            kernelParams: b.kernelParams ?? '',
            files: (b.files ?? []).map((f) => ({
              role: f.role,
              sha256: f.sha256,
              sizeBytes: f.sizeBytes,
              name: f.name,
            })),
            hostname: b.hostname,
            metadataToken:
              b.metadataToken === undefined ? '' : openQueuedToken(secrets, b.metadataToken),
            version: b.version,
          },
        },
      };
    case 'network-config':
      return {
        id: c.id,
        kind: {
          $case: 'networkConfig',
          value: {
            version: b.version,
            subnets: b.subnets.map((s) => ({
              cidr: s.cidr,
              gateway: s.gateway ?? '',
              dnsServers: [...s.dnsServers],
              dynamicRanges: s.dynamicRanges.map((r) => ({ start: r.start, end: r.end })),
              leaseSeconds: s.leaseSeconds,
              domain: s.domain,
              dhcpMode: s.dhcpMode,
              interface: s.interface ?? '',
            })),
            reservations: b.reservations.map((r) => ({
              mac: r.mac,
              ip: r.ip,
              hostname: r.hostname ?? '',
              machineId: r.machineId ?? '',
            })),
          },
        },
      };
    case 'remove-boot-plan':
      return { id: c.id, kind: { $case: 'removeBootPlan', value: { machineId: b.machineId } } };
    case 'power':
      return {
        id: c.id,
        kind: {
          $case: 'power',
          value: {
            machineId: b.machineId,
            action: b.action,
            driver: b.driver,
            paramsJson: JSON.stringify(openPowerParams(secrets, b.params)),
            pxeOnce: b.pxeOnce,
            uefi: false,
          },
        },
      };
  }
}
