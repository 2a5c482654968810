/**
 * `/redfish/v1/Systems` of the lab Redfish service: the collection, each `ComputerSystem`, the
 * `Boot` PATCH and `ComputerSystem.Reset`. A `Once` override is used by the next reset that
 * boots the machine and then reads `Disabled`, as on real BMCs.
 */
import { RESET_TYPES, type RedfishMachine, type RedfishResetType } from './machine.ts';
import { redfishError, type Reply } from './reply.ts';
import type { BootSettings, RedfishServiceEvent } from './service.ts';

/** The mutable state the routes share with the service. */
export interface ServiceState {
  readonly systems: Readonly<Record<string, RedfishMachine>>;
  readonly boot: Map<string, BootSettings>;
  readonly events: RedfishServiceEvent[];
}

const TARGETS = ['None', 'Pxe', 'Hdd', 'Cd', 'Usb', 'BiosSetup', 'UefiShell'] as const;
const ENABLED = ['Disabled', 'Once', 'Continuous'] as const;
const MODES = ['Legacy', 'UEFI'] as const;
const SYSTEMS = '/redfish/v1/Systems';

/** Builds the router; it answers undefined for paths outside `/redfish/v1/Systems`. */
export function createSystemRoutes(
  state: ServiceState,
): (method: string, path: string, body: unknown) => Promise<Reply | undefined> {
  return async (method, path, body) => {
    if (path === SYSTEMS) {
      if (method !== 'GET') return notAllowed(method, path);
      const ids = Object.keys(state.systems);
      return {
        status: 200,
        body: {
          '@odata.id': SYSTEMS,
          '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
          Name: 'Computer System Collection',
          'Members@odata.count': ids.length,
          Members: ids.map((id) => ({ '@odata.id': `${SYSTEMS}/${id}` })),
        },
      };
    }
    const match = /^\/redfish\/v1\/Systems\/([^/]+)(\/Actions\/ComputerSystem\.Reset)?$/.exec(path);
    if (match === null) return undefined;
    const id = decodeURIComponent(match[1]!);
    const machine = state.systems[id];
    const boot = state.boot.get(id);
    if (machine === undefined || boot === undefined) {
      return redfishError(404, 'ResourceMissingAtURI', `no system ${id}`);
    }
    if (match[2] !== undefined) {
      if (method !== 'POST') return notAllowed(method, path);
      return reset(state, id, machine, body);
    }
    if (method === 'GET') return { status: 200, body: await systemResource(id, machine, boot) };
    if (method === 'PATCH') return patchBoot(state, id, boot, body);
    return notAllowed(method, path);
  };
}

async function systemResource(
  id: string,
  machine: RedfishMachine,
  boot: BootSettings,
): Promise<Record<string, unknown>> {
  const path = `${SYSTEMS}/${id}`;
  return {
    '@odata.id': path,
    '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem',
    Id: id,
    Name: `Ingot lab machine ${id}`,
    SystemType: 'Virtual',
    Manufacturer: 'Ingot',
    Model: 'Ingot lab VM (QEMU)',
    PowerState: await machine.powerState(),
    Status: { State: 'Enabled', Health: 'OK' },
    Boot: {
      ...boot,
      'BootSourceOverrideTarget@Redfish.AllowableValues': TARGETS,
      'BootSourceOverrideMode@Redfish.AllowableValues': MODES,
    },
    Actions: {
      '#ComputerSystem.Reset': {
        target: `${path}/Actions/ComputerSystem.Reset`,
        'ResetType@Redfish.AllowableValues': RESET_TYPES,
      },
    },
  };
}

function patchBoot(state: ServiceState, id: string, current: BootSettings, body: unknown): Reply {
  const patch: unknown =
    typeof body === 'object' && body !== null ? Reflect.get(body, 'Boot') : undefined;
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    return redfishError(400, 'PropertyMissing', 'PATCH needs a Boot object');
  }
  const allowed: Record<keyof BootSettings, readonly string[]> = {
    BootSourceOverrideEnabled: ENABLED,
    BootSourceOverrideTarget: TARGETS,
    BootSourceOverrideMode: MODES,
  };
  const next: Record<string, string> = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    const values = (allowed as Record<string, readonly string[] | undefined>)[name];
    if (values === undefined) {
      return redfishError(400, 'PropertyUnknown', `Boot/${name} is not writable here`);
    }
    if (typeof value !== 'string' || !values.includes(value)) {
      return redfishError(
        400,
        'PropertyValueNotInList',
        `Boot/${name} must be one of ${values.join(', ')}`,
      );
    }
    next[name] = value;
  }
  const boot: BootSettings = {
    BootSourceOverrideEnabled: next['BootSourceOverrideEnabled']!,
    BootSourceOverrideTarget: next['BootSourceOverrideTarget']!,
    BootSourceOverrideMode: next['BootSourceOverrideMode']!,
  };
  state.boot.set(id, boot);
  state.events.push({ kind: 'boot-override', systemId: id, boot });
  return { status: 204 };
}

async function reset(
  state: ServiceState,
  id: string,
  machine: RedfishMachine,
  body: unknown,
): Promise<Reply> {
  const type: unknown =
    typeof body === 'object' && body !== null ? Reflect.get(body, 'ResetType') : undefined;
  if (!RESET_TYPES.includes(type as RedfishResetType)) {
    return redfishError(
      400,
      'ActionParameterValueNotInList',
      `ResetType must be one of ${RESET_TYPES.join(', ')}`,
    );
  }
  const resetType = type as RedfishResetType;
  const wasOn = (await machine.powerState()) === 'On';
  const boots = resetType === 'ForceRestart' || (resetType === 'On' && !wasOn);
  const boot = state.boot.get(id)!;
  const overrideOn = boots && boot.BootSourceOverrideEnabled !== 'Disabled';
  const override = overrideOn
    ? { target: boot.BootSourceOverrideTarget, mode: boot.BootSourceOverrideMode }
    : undefined;
  state.events.push({ kind: 'reset', systemId: id, resetType });
  await machine.reset(resetType, override);
  if (override !== undefined) {
    state.events.push({ kind: 'boot-override-used', systemId: id, override });
    if (boot.BootSourceOverrideEnabled === 'Once') {
      state.boot.set(id, { ...boot, BootSourceOverrideEnabled: 'Disabled' });
    }
  }
  return { status: 204 };
}

function notAllowed(method: string, path: string): Reply {
  return {
    ...redfishError(405, 'OperationNotAllowed', `${method} is not allowed on ${path}`),
    headers: { Allow: path.endsWith('Reset') ? 'POST' : 'GET, PATCH' },
  };
}
