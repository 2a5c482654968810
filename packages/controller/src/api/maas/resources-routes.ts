/**
 * The small MAAS resources clients read before they allocate: `version/`, `users/?op=whoami`,
 * `account/?op=list_authorisation_tokens`, `zones/`, `pools/` (also MAAS's `resourcepools/`),
 * `tags/`, `boot-resources/`, `subnets/`, `domains/`. Zones, pools and tags are not objects of
 * their own in Ingot: they are the names machines carry (plus MAAS's `default` zone and pool).
 */
import type { Context } from 'hono';
import type { ApiDeps } from '../context.ts';
import { isDeployable } from './deploy-params.ts';
import { opOf } from './form-params.ts';
import { MaasError } from './maas-error.ts';
import { paths, type MaasApp, type MaasEnv } from './maas-env.ts';
import { maasArchitecture } from './machine-shape.ts';
import { MAAS_DOMAIN } from './machine-render.ts';
import { subnetShape, type JsonObject } from './network-shape.ts';
import { MAAS_API_ROOT, stableId } from './resource-ids.ts';

/**
 * The MAAS release whose 2.0 API this adapter speaks a subset of (clients compare versions to
 * decide what they may call). The capabilities are only those Ingot honours.
 */
export const MAAS_VERSION = {
  version: '2.9.2',
  subversion: 'ingot',
  capabilities: ['authenticate-api'],
};

function requireOp(c: Context<MaasEnv>, allowed: string): void {
  const op = opOf(c);
  if (op !== allowed) {
    throw new MaasError(
      400,
      `Unrecognised signature: method=${c.req.method}${op === undefined ? '' : ` op=${op}`}`,
    );
  }
}

function noOp(c: Context<MaasEnv>): void {
  const op = opOf(c);
  if (op !== undefined) throw new MaasError(400, `Unrecognised signature: method=GET op=${op}`);
}

/** Names machines carry (zones, pools, tags), with `always` first; sorted otherwise. */
async function namesOnMachines(
  deps: ApiDeps,
  pick: (m: { zone: string; pool: string; tags: readonly string[] }) => readonly string[],
  always: readonly string[],
): Promise<string[]> {
  const machines = await deps.machines.list({ kind: 'system' });
  const seen = new Set(machines.flatMap(pick));
  for (const a of always) seen.delete(a);
  return [...always, ...[...seen].sort()];
}

const named = (kind: 'zones' | 'resourcepool', name: string): JsonObject => {
  const id = stableId(kind === 'zones' ? 'zone' : 'pool', name);
  const key = kind === 'zones' ? encodeURIComponent(name) : String(id);
  return { id, name, description: '', resource_uri: `${MAAS_API_ROOT}/${kind}/${key}/` };
};

/** Registers the small resources. */
export function registerResourceRoutes(app: MaasApp, deps: ApiDeps): void {
  app.on('GET', paths('/version'), (c) => {
    noOp(c);
    return c.json(MAAS_VERSION);
  });

  app.on('GET', paths('/users'), (c) => {
    requireOp(c, 'whoami');
    const user = c.get('user');
    return c.json({
      username: user.username,
      email: '',
      is_superuser: user.role === 'admin',
      is_local: true,
      resource_uri: `${MAAS_API_ROOT}/users/${user.username}/`,
    });
  });

  app.on('GET', paths('/account'), (c) => {
    requireOp(c, 'list_authorisation_tokens');
    // Secrets are stored only as hashes: a token is listed by its keys, never its secret.
    const id = c.get('keyId');
    return c.json([{ name: 'MAAS consumer', token: `${id}:${id}`, consumer: id }]);
  });
  app.on('POST', paths('/account'), (c) => {
    requireOp(c, 'list_authorisation_tokens');
    const id = c.get('keyId');
    return c.json([{ name: 'MAAS consumer', token: `${id}:${id}`, consumer: id }]);
  });

  app.on('GET', paths('/zones'), async (c) => {
    noOp(c);
    const zones = await namesOnMachines(deps, (m) => [m.zone], ['default']);
    return c.json(zones.map((z) => named('zones', z)));
  });
  for (const path of ['/pools', '/resourcepools']) {
    app.on('GET', paths(path), async (c) => {
      noOp(c);
      const pools = await namesOnMachines(deps, (m) => [m.pool], ['default']);
      return c.json(pools.map((p) => named('resourcepool', p)));
    });
  }
  app.on('GET', paths('/tags'), async (c) => {
    noOp(c);
    const tags = await namesOnMachines(deps, (m) => m.tags, []);
    return c.json(
      tags.map((name) => ({
        name,
        comment: '',
        definition: '',
        kernel_opts: '',
        resource_uri: `${MAAS_API_ROOT}/tags/${encodeURIComponent(name)}/`,
      })),
    );
  });

  app.on('GET', paths('/boot-resources'), async (c) => {
    noOp(c);
    const images = (await deps.images.list()).filter(isDeployable);
    return c.json(
      images.map((i) => {
        const id = stableId('boot-resource', i.id);
        return {
          id,
          type: 'Uploaded',
          name: `${i.os}/${i.release}`,
          architecture: maasArchitecture(i.arch),
          subarches: 'generic',
          kflavor: 'generic',
          resource_uri: `${MAAS_API_ROOT}/boot-resources/${id}/`,
        };
      }),
    );
  });

  app.on('GET', paths('/subnets'), async (c) => {
    noOp(c);
    return c.json((await deps.subnets.list()).map(subnetShape));
  });

  app.on('GET', paths('/domains'), async (c) => {
    noOp(c);
    const count = (await deps.machines.list(c.get('actor'))).length;
    const id = stableId('domain', MAAS_DOMAIN);
    return c.json([
      {
        id,
        name: MAAS_DOMAIN,
        authoritative: true,
        ttl: null,
        resource_record_count: count,
        is_default: true,
        resource_uri: `${MAAS_API_ROOT}/domains/${id}/`,
      },
    ]);
  });
}
