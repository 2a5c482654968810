/**
 * The CLI's API commands: machines, racks, events, users. Tables for people, `--json` for scripts.
 */
import { duration, parse, UsageError } from './args.ts';
import { call, type ClientOptions } from './client.ts';
import {
  DEFAULT_WAIT_TIMEOUT,
  DEPLOY_FLAG_OPTIONS,
  deployBody,
  releaseBody,
  WAIT_FLAG_OPTIONS,
} from './deploy-options.ts';
import { field, table } from './table.ts';
import { terminalIo } from './watch/terminal.ts';
import { runAndWait } from './watch/wait-command.ts';
import type { WaitAction } from './watch/wait.ts';

type Out = (text: string) => void;

function print(out: Out, json: boolean, value: unknown, render: () => string): void {
  out(json ? JSON.stringify(value, null, 2) + '\n' : render());
}

function machinesTable(list: unknown[]): string {
  return table(
    ['ID', 'HOSTNAME', 'STATUS', 'OWNER', 'POWER', 'ARCH', 'CPUS', 'MEM(MiB)', 'TAGS', 'LAST STEP'],
    list.map((m) => [
      field(m, 'id'),
      field(m, 'hostname'),
      field(m, 'status'),
      field(m, 'owner'),
      field(field(m, 'power') === '-' ? {} : (m as { power: unknown }).power, 'state'),
      field(m, 'arch'),
      field(m, 'cpu_count'),
      field(m, 'memory_mib'),
      field(m, 'tags'),
      (() => {
        const s = (m as { last_step: unknown }).last_step;
        return s === null || s === undefined ? '-' : `${field(s, 'step')} ${field(s, 'result')}`;
      })(),
    ]),
  );
}

function machineDetail(m: unknown): string {
  const keys = [
    'id',
    'hostname',
    'status',
    'status_message',
    'owner',
    'locked',
    'arch',
    'cpu_count',
    'memory_mib',
    'storage_gib',
    'macs',
    'tags',
    'zone',
    'pool',
    'rack_id',
    'power',
    'deployment',
    'last_step',
    'status_deadline',
  ];
  return keys.map((k) => `${k.padEnd(16)} ${field(m, k)}`).join('\n') + '\n';
}

const list = (s: string | undefined): string[] | undefined =>
  s === undefined
    ? undefined
    : s
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t.length > 0);
const int = (s: string | undefined, flag: string): number | undefined => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number`);
  return n;
};

/** Flags of `machines update`: what an operator may set on an existing machine. */
export const MACHINE_UPDATE_FLAGS = {
  hostname: { type: 'string' },
  arch: { type: 'string' },
  mac: { type: 'string', multiple: true },
  tags: { type: 'string' },
  zone: { type: 'string' },
  pool: { type: 'string' },
  'power-type': { type: 'string' },
  'power-params': { type: 'string' },
  rack: { type: 'string' },
} as const;

/** Flags of `machines create`: the update flags, the hardware facts, and `--ready`. */
export const MACHINE_CREATE_FLAGS = {
  ...MACHINE_UPDATE_FLAGS,
  cpus: { type: 'string' },
  memory: { type: 'string' },
  storage: { type: 'string' },
  ready: { type: 'boolean' },
} as const;

/** The body fields both `machines create` and `machines update` send from their flags. */
function machineFields(
  values: {
    hostname?: string | undefined;
    arch?: string | undefined;
    mac?: string[] | undefined;
    tags?: string | undefined;
    zone?: string | undefined;
    pool?: string | undefined;
    'power-type'?: string | undefined;
    rack?: string | undefined;
  },
  params: () => unknown,
): Record<string, unknown> {
  return {
    hostname: values.hostname,
    arch: values.arch,
    macs: values.mac,
    tags: list(values.tags),
    zone: values.zone,
    pool: values.pool,
    power:
      values['power-type'] === undefined
        ? undefined
        : { type: values['power-type'], params: params() },
    rack: values.rack,
  };
}

/** `ingot machines <list|show|create|allocate|deploy|release|…>`. */
export async function machines(
  argv: string[],
  client: ClientOptions,
  json: boolean,
  out: Out,
): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'list':
    case undefined: {
      const { values } = parse(rest, { status: { type: 'string' } });
      const q = values.status === undefined ? '' : `?status=${encodeURIComponent(values.status)}`;
      const result = (await call(client, 'GET', `/api/v1/machines${q}`)) as unknown[];
      print(out, json, result, () => machinesTable(result));
      return 0;
    }
    case 'show': {
      const id = one(rest, 'machines show ID');
      const m = await call(client, 'GET', `/api/v1/machines/${encodeURIComponent(id)}`);
      print(out, json, m, () => machineDetail(m));
      return 0;
    }
    case 'create': {
      const { values } = parse(rest, MACHINE_CREATE_FLAGS);
      if ((values.mac ?? []).length === 0)
        throw new UsageError('--mac MAC is required (repeat for several NICs)');
      const params = powerParams(values['power-params']);
      const body = {
        ...machineFields(values, () => params),
        cpu_count: int(values.cpus, '--cpus'),
        memory_mib: int(values.memory, '--memory'),
        storage_gib: int(values.storage, '--storage'),
        commission: values.ready === true ? false : undefined,
      };
      const m = await call(client, 'POST', '/api/v1/machines', body);
      print(out, json, m, () => machineDetail(m));
      return 0;
    }
    case 'update': {
      const { values, positionals } = parse(rest, MACHINE_UPDATE_FLAGS);
      const id = one(positionals, 'machines update ID [--hostname H --power-type T …]');
      if (values['power-params'] !== undefined && values['power-type'] === undefined)
        throw new UsageError('--power-params goes with --power-type');
      const body = machineFields(values, () => powerParams(values['power-params']));
      if (Object.values(body).every((v) => v === undefined))
        throw new UsageError('nothing to change: give --hostname, --power-type, --tags …');
      const m = await call(client, 'PATCH', `/api/v1/machines/${encodeURIComponent(id)}`, body);
      print(out, json, m, () => machineDetail(m));
      return 0;
    }
    case 'allocate': {
      const { values } = parse(rest, {
        name: { type: 'string' },
        arch: { type: 'string' },
        cpus: { type: 'string' },
        mem: { type: 'string' },
        storage: { type: 'string' },
        tags: { type: 'string' },
        'not-tags': { type: 'string' },
        zone: { type: 'string' },
        pool: { type: 'string' },
      });
      const m = await call(client, 'POST', '/api/v1/machines/allocate', {
        name: values.name,
        arch: values.arch,
        cpu_count: int(values.cpus, '--cpus'),
        mem: int(values.mem, '--mem'),
        storage: int(values.storage, '--storage'),
        tags: list(values.tags),
        not_tags: list(values['not-tags']),
        zone: values.zone,
        pool: values.pool,
      });
      print(out, json, m, () => `Allocated ${field(m, 'hostname')} (${field(m, 'id')})\n`);
      return 0;
    }
    case 'deploy': {
      const { values, positionals } = parse(rest, { ...DEPLOY_FLAG_OPTIONS, ...WAIT_FLAG_OPTIONS });
      const id = one(positionals, 'machines deploy ID');
      const body = deployBody(values);
      const issue = (): Promise<unknown> =>
        call(client, 'POST', `/api/v1/machines/${encodeURIComponent(id)}/deploy`, body);
      const waited = await maybeWait(values, client, id, 'deploy', issue, json, out);
      if (waited !== undefined) return waited;
      const m = await issue();
      print(
        out,
        json,
        m,
        () => `${field(m, 'hostname')}: ${field(m, 'status')} — ${field(m, 'status_message')}\n`,
      );
      return 0;
    }
    case 'power': {
      const [id, action] = rest;
      if (
        id === undefined ||
        (action !== 'on' && action !== 'off' && action !== 'cycle' && action !== 'status')
      ) {
        throw new UsageError('usage: ingot machines power ID on|off|cycle|status');
      }
      const path = `/api/v1/machines/${encodeURIComponent(id)}/power`;
      const r =
        action === 'status'
          ? await call(client, 'GET', path)
          : await call(client, 'POST', path, { action });
      print(out, json, r, () =>
        action === 'status'
          ? `${field(r, 'state')} (seen ${field(r, 'seen_at')})\n`
          : `Power ${action} queued\n`,
      );
      return 0;
    }
    case 'delete': {
      const id = one(rest, 'machines delete ID');
      await call(client, 'DELETE', `/api/v1/machines/${encodeURIComponent(id)}`);
      print(out, json, { deleted: id }, () => `Deleted ${id}\n`);
      return 0;
    }
    case 'release': {
      const { values, positionals } = parse(rest, {
        comment: { type: 'string' },
        erase: { type: 'string' },
        ...WAIT_FLAG_OPTIONS,
      });
      const id = one(positionals, 'machines release ID [--erase quick|full]');
      const body = releaseBody(values);
      const issue = (): Promise<unknown> =>
        call(client, 'POST', `/api/v1/machines/${encodeURIComponent(id)}/release`, body);
      const waited = await maybeWait(values, client, id, 'release', issue, json, out);
      if (waited !== undefined) return waited;
      const m = await issue();
      print(out, json, m, () => `${field(m, 'hostname')}: ${field(m, 'status')}\n`);
      return 0;
    }
    case 'commission':
    case 'abort':
    case 'mark-broken':
    case 'mark-fixed':
    case 'lock':
    case 'unlock': {
      const { values, positionals } = parse(rest, {
        comment: { type: 'string' },
        ...WAIT_FLAG_OPTIONS,
      });
      if (sub !== 'commission' && (values.wait !== undefined || values.timeout !== undefined))
        throw new UsageError(`--wait goes with deploy, commission and release, not ${sub}`);
      const id = one(positionals, `machines ${sub} ID`);
      const body = sub === 'lock' || sub === 'unlock' ? undefined : { comment: values.comment };
      const issue = (): Promise<unknown> =>
        call(client, 'POST', `/api/v1/machines/${encodeURIComponent(id)}/${sub}`, body);
      if (sub === 'commission') {
        const waited = await maybeWait(values, client, id, 'commission', issue, json, out);
        if (waited !== undefined) return waited;
      }
      const m = await issue();
      print(
        out,
        json,
        m,
        () =>
          `${field(m, 'hostname')}: ${field(m, 'status')}${field(m, 'locked') === 'true' ? ' (locked)' : ''}\n`,
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command: machines ${sub}`);
  }
}

/**
 * With `--wait`, performs the action through {@link runAndWait} and returns its exit code;
 * without, returns undefined and the caller performs it.
 */
async function maybeWait(
  values: { readonly wait?: boolean | undefined; readonly timeout?: string | undefined },
  client: ClientOptions,
  id: string,
  action: WaitAction,
  issue: () => Promise<unknown>,
  json: boolean,
  out: Out,
): Promise<number | undefined> {
  if (values.wait !== true) {
    if (values.timeout !== undefined) throw new UsageError('--timeout goes with --wait');
    return undefined;
  }
  const timeoutText = values.timeout ?? DEFAULT_WAIT_TIMEOUT;
  return runAndWait(
    { client, machineId: id, action, issue, timeoutMs: duration(timeoutText), timeoutText, json },
    terminalIo(out),
  );
}

/** `--power-params JSON`: the BMC settings object (docs/operator-guide.md lists each driver's). */
function powerParams(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
  } catch {
    // Reported below.
  }
  throw new UsageError(`--power-params must be a JSON object, such as '{"address":"10.0.0.5"}'`);
}

function one(args: readonly string[], usage: string): string {
  if (args.length !== 1 || args[0] === undefined) throw new UsageError(`usage: ingot ${usage}`);
  return args[0];
}

/** `ingot racks list|enroll-token|revoke ID`. */
export async function racks(
  argv: string[],
  client: ClientOptions,
  json: boolean,
  out: Out,
): Promise<number> {
  const [sub] = argv;
  if (sub === 'enroll-token') {
    const t = await call(client, 'POST', '/api/v1/racks/enroll-tokens');
    print(out, json, t, () => `${field(t, 'token')}\n`);
    return 0;
  }
  if (sub === 'revoke') {
    const id = argv[1];
    if (id === undefined) throw new UsageError('usage: ingot racks revoke RACK_ID');
    const r = await call(client, 'POST', `/api/v1/racks/${encodeURIComponent(id)}/revoke`);
    print(out, json, r, () => `revoked rack ${field(r, 'name')} (${field(r, 'id')})\n`);
    return 0;
  }
  if (sub === 'list' || sub === undefined) {
    const result = (await call(client, 'GET', '/api/v1/racks')) as unknown[];
    print(out, json, result, () =>
      table(
        ['ID', 'NAME', 'STATUS', 'LAST HEARTBEAT', 'OUTBOX', 'CONTROLLER', 'VERSION'],
        result.map((r) => [
          field(r, 'id'),
          field(r, 'name'),
          // A revoked rack may still show its last health; say what matters.
          field(r, 'revoked_at') === '-' ? field(r, 'status') : 'revoked',
          field(r, 'last_heartbeat'),
          field((r as { health: unknown }).health, 'outbox_depth'),
          // The controller holding the rack's session (several controllers on one database).
          field((r as { controller: unknown }).controller, 'name'),
          field(r, 'version'),
        ]),
      ),
    );
    return 0;
  }
  throw new UsageError(`unknown command: racks ${sub}`);
}

/** `ingot users list|create NAME [--role admin|user]`. */
export async function users(
  argv: string[],
  client: ClientOptions,
  json: boolean,
  out: Out,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values, positionals } = parse(rest, { role: { type: 'string' } });
    const u = await call(client, 'POST', '/api/v1/users', {
      username: one(positionals, 'users create NAME'),
      role: values.role,
    });
    print(
      out,
      json,
      u,
      () =>
        `Created ${field(u, 'role')} ${field(u, 'username')}; API key (shown once):\n${field(u, 'api_key')}\n`,
    );
    return 0;
  }
  if (sub === 'list' || sub === undefined) {
    const result = (await call(client, 'GET', '/api/v1/users')) as unknown[];
    print(out, json, result, () =>
      table(
        ['ID', 'USERNAME', 'ROLE'],
        result.map((u) => [field(u, 'id'), field(u, 'username'), field(u, 'role')]),
      ),
    );
    return 0;
  }
  throw new UsageError(`unknown command: users ${sub}`);
}
