/**
 * `describe/`: the machine-readable list of resources and actions that the `maas` CLI fetches on
 * `maas login` (and python-libmaas on connect) to build its commands. Each handler names its URI
 * template, its path parameters and its actions (`op` null for the plain REST verbs). The table
 * lists exactly what this adapter serves; a contract test calls every entry.
 */
import type { MaasApp } from './maas-env.ts';
import { MAAS_API_ROOT } from './resource-ids.ts';

/** One action: a REST verb (`op` null) or a named op. */
interface ActionEntry {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly op: string | null;
  readonly doc: string;
}

/** One handler: the CLI names its command after `name` (`MachinesHandler` → `machines`). */
interface HandlerEntry {
  readonly name: string;
  readonly doc: string;
  /** Path below the API root, with `{param}` placeholders. */
  readonly path: string;
  readonly params: readonly string[];
  readonly actions: readonly ActionEntry[];
}

const read = (doc: string): ActionEntry => ({ name: 'read', method: 'GET', op: null, doc });
const get = (op: string, doc: string): ActionEntry => ({ name: op, method: 'GET', op, doc });
const post = (op: string, doc: string): ActionEntry => ({
  name: op.replace(/_/g, '-'),
  method: 'POST',
  op,
  doc,
});

/** Every handler this adapter serves, with its actions. */
export const MAAS_HANDLERS: readonly HandlerEntry[] = [
  {
    name: 'VersionHandler',
    doc: 'Information about this API.',
    path: '/version/',
    params: [],
    actions: [read('The API version and capabilities.')],
  },
  {
    name: 'UsersHandler',
    doc: 'Users.',
    path: '/users/',
    params: [],
    actions: [get('whoami', 'The user whose key signed the request.')],
  },
  {
    name: 'AccountHandler',
    doc: 'Your account.',
    path: '/account/',
    params: [],
    actions: [get('list_authorisation_tokens', 'Your API keys (never their secrets).')],
  },
  {
    name: 'MachinesHandler',
    doc: 'Machines.',
    path: '/machines/',
    params: [],
    actions: [
      read('List machines (filters: id, hostname, mac_address, zone, pool, status, tags, …).'),
      post('allocate', 'Allocate a Ready machine matching the constraints.'),
      post('release', 'Release the machines given as repeated machines=.'),
    ],
  },
  {
    name: 'MachineHandler',
    doc: 'One machine.',
    path: '/machines/{system_id}/',
    params: ['system_id'],
    actions: [
      read('Read the machine.'),
      get('query_power_state', 'The last observed power state.'),
      post('deploy', 'Deploy (distro_series, user_data in base64, hwe_kernel, ephemeral_deploy).'),
      post('release', 'Release (erase, quick_erase).'),
      post('power_on', 'Power on.'),
      post('power_off', 'Power off.'),
      post('abort', 'Abort the current operation.'),
      post('mark_broken', 'Mark broken.'),
      post('mark_fixed', 'Mark fixed (admins).'),
      post('set_owner_data', 'Set owner data (key=value; an empty value removes the key).'),
      post('lock', 'Lock against changes.'),
      post('unlock', 'Unlock.'),
    ],
  },
  ...(
    [
      ['ZonesHandler', '/zones/', 'Availability zones.'],
      ['ResourcePoolsHandler', '/resourcepools/', 'Resource pools.'],
      ['TagsHandler', '/tags/', 'Tags.'],
      ['BootResourcesHandler', '/boot-resources/', 'Images that can be deployed.'],
      ['SubnetsHandler', '/subnets/', 'Subnets.'],
      ['SpacesHandler', '/spaces/', 'Spaces.'],
      ['FabricsHandler', '/fabrics/', 'Fabrics.'],
      ['StaticRoutesHandler', '/static-routes/', 'Static routes.'],
      ['DomainsHandler', '/domains/', 'DNS domains.'],
    ] as const
  ).map(([name, path, doc]) => ({ name, doc, path, params: [], actions: [read(`List ${doc}`)] })),
];

/** Registers `describe/` (anonymous, as in MAAS). */
export function registerDescribeRoute(app: MaasApp): void {
  const describe = (origin: string): unknown => {
    const handler = (h: HandlerEntry): unknown => ({
      name: h.name,
      doc: h.doc,
      params: h.params,
      path: `${MAAS_API_ROOT}${h.path}`,
      uri: `${origin}${MAAS_API_ROOT}${h.path}`,
      actions: h.actions.map((a) => ({ ...a, restful: a.op === null })),
    });
    return {
      doc: 'MAAS 2.0 API (a subset, served by Ingot).',
      resources: MAAS_HANDLERS.map((h) => ({
        name: h.name,
        anon: h.name === 'VersionHandler' ? handler(h) : null,
        auth: handler(h),
      })),
      handlers: MAAS_HANDLERS.map(handler),
    };
  };
  for (const path of ['/describe', '/describe/']) {
    app.get(path, (c) =>
      // maascli insists on exactly `application/json`.
      c.body(JSON.stringify(describe(new URL(c.req.url).origin)), 200, {
        'content-type': 'application/json',
      }),
    );
  }
}
