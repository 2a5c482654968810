/**
 * `/api/v1/machines`: the machine resource and its lifecycle actions (DESIGN.md §9).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { normalizeMac, type Machine } from '../domain/machine/machine.ts';
import { MACHINE_STATUSES, type MachineAction } from '../domain/machine/lifecycle.ts';
import {
  ERRORS,
  jsonBody,
  jsonResponse,
  ownerNames,
  type ApiApp,
  type ApiDeps,
} from './context.ts';
import {
  AllocateBody,
  CommentBody,
  CreateMachineBody,
  DeployBody,
  ReleaseBody,
  EventDto,
  MachineDto,
  PowerBody,
  UpdateMachineBody,
  eventDto,
  machineDto,
} from './dto.ts';
import { unwrap } from './problem.ts';

const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const tags = ['machines'];

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/machines',
  tags,
  summary: 'List machines you may see',
  request: {
    query: z
      .object({
        status: z.enum(MACHINE_STATUSES).optional(),
        hostname: z.string().optional(),
        limit: z.coerce.number().int().min(1).max(10_000).optional(),
        offset: z.coerce.number().int().min(0).optional(),
      })
      .strict(),
  },
  responses: { 200: jsonResponse(z.array(MachineDto), 'Machines'), ...ERRORS },
});

const createMachineRoute = createRoute({
  method: 'post',
  path: '/api/v1/machines',
  tags,
  summary: 'Create a machine (admin). With "commission": false it goes straight to ready.',
  request: jsonBody(CreateMachineBody),
  responses: { 201: jsonResponse(MachineDto, 'Created'), ...ERRORS },
});

const getRoute = createRoute({
  method: 'get',
  path: '/api/v1/machines/{id}',
  tags,
  request: { params: IdParam },
  responses: { 200: jsonResponse(MachineDto, 'The machine'), ...ERRORS },
});

const patchRoute = createRoute({
  method: 'patch',
  path: '/api/v1/machines/{id}',
  tags,
  summary: 'Change a machine (admin)',
  request: { params: IdParam, ...jsonBody(UpdateMachineBody) },
  responses: { 200: jsonResponse(MachineDto, 'Updated'), ...ERRORS },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/api/v1/machines/{id}',
  tags,
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...ERRORS },
});

const allocateRoute = createRoute({
  method: 'post',
  path: '/api/v1/machines/allocate',
  tags,
  summary: 'Allocate one ready machine matching the constraints (409 when none does)',
  request: jsonBody(AllocateBody),
  responses: { 200: jsonResponse(MachineDto, 'Allocated'), ...ERRORS },
});

const deployRoute = createRoute({
  method: 'post',
  path: '/api/v1/machines/{id}/deploy',
  tags,
  request: { params: IdParam, ...jsonBody(DeployBody) },
  responses: { 202: jsonResponse(MachineDto, 'Deploying'), ...ERRORS },
});

const powerRoute = createRoute({
  method: 'post',
  path: '/api/v1/machines/{id}/power',
  tags,
  request: { params: IdParam, ...jsonBody(PowerBody) },
  responses: { 202: jsonResponse(MachineDto, 'Power command queued for the rack'), ...ERRORS },
});

const powerStateRoute = createRoute({
  method: 'get',
  path: '/api/v1/machines/{id}/power',
  tags,
  request: { params: IdParam },
  responses: {
    200: jsonResponse(
      z.object({ state: z.string(), seen_at: z.string().nullable(), type: z.string().nullable() }),
      'Last observed power state',
    ),
    ...ERRORS,
  },
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/api/v1/machines/{id}/events',
  tags,
  request: {
    params: IdParam,
    query: z
      .object({
        after: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
  },
  responses: {
    200: jsonResponse(z.array(EventDto), 'Events of this machine, oldest first'),
    ...ERRORS,
  },
});

const releaseRoute = createRoute({
  method: 'post',
  path: '/api/v1/machines/{id}/release',
  tags,
  summary: 'Release a machine, optionally erasing its disks first',
  request: {
    params: IdParam,
    body: { required: false, content: { 'application/json': { schema: ReleaseBody } } },
  },
  responses: { 200: jsonResponse(MachineDto, 'The machine after the action'), ...ERRORS },
});

/** Actions that take an optional comment: URL segment → lifecycle action. */
const COMMENT_ACTIONS: ReadonlyArray<readonly [string, MachineAction, string]> = [
  ['commission', 'commission', 'Commissioning'],
  ['abort', 'abort', 'Aborted'],
  ['mark-broken', 'mark_broken', 'Marked broken'],
  ['mark-fixed', 'mark_fixed', 'Marked fixed'],
];

/** Registers the machine routes. */
export function registerMachineRoutes(app: ApiApp, deps: ApiDeps): void {
  const render = async (actor: Parameters<typeof ownerNames>[1], machine: Machine) =>
    machineDto(machine, await ownerNames(deps, actor));

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const actor = c.get('actor');
    const machines = await deps.machines.list(actor, {
      status: q.status,
      hostname: q.hostname,
      limit: q.limit,
      offset: q.offset,
    });
    const owners = await ownerNames(deps, actor);
    return c.json(
      machines.map((m) => machineDto(m, owners)),
      200,
    );
  });

  app.openapi(createMachineRoute, async (c) => {
    const b = c.req.valid('json');
    const actor = c.get('actor');
    const macs = b.macs.map((m) => normalizeMac(m) ?? m);
    if (new Set(macs).size !== macs.length) {
      unwrap({
        ok: false,
        error: { kind: 'invalid', field: 'macs', detail: 'a MAC address is listed twice' },
      });
    }
    const machine = unwrap(
      await deps.machines.create(actor, {
        hostname: b.hostname,
        arch: b.arch,
        macs,
        cpuCount: b.cpu_count,
        memoryMib: b.memory_mib,
        storageGib: b.storage_gib,
        tags: b.tags,
        zone: b.zone,
        pool: b.pool,
        power: b.power,
        rackId: b.rack,
        commission: b.commission,
      }),
    );
    return c.json(await render(actor, machine), 201);
  });

  app.openapi(allocateRoute, async (c) => {
    const b = c.req.valid('json');
    const actor = c.get('actor');
    const machine = unwrap(
      await deps.machines.allocate(actor, {
        name: b.name,
        systemId: b.system_id,
        arch: b.arch,
        cpuCount: b.cpu_count,
        memoryMib: b.mem,
        storageGib: b.storage,
        tags: b.tags,
        notTags: b.not_tags,
        zone: b.zone,
        pool: b.pool,
        notInZones: b.not_in_zone,
        notInPools: b.not_in_pool,
      }),
    );
    return c.json(await render(actor, machine), 200);
  });

  app.openapi(getRoute, async (c) => {
    const actor = c.get('actor');
    return c.json(
      await render(actor, unwrap(await deps.machines.get(actor, c.req.valid('param').id))),
      200,
    );
  });

  app.openapi(patchRoute, async (c) => {
    const actor = c.get('actor');
    const b = c.req.valid('json');
    const machine = unwrap(
      await deps.machines.update(actor, c.req.valid('param').id, {
        hostname: b.hostname,
        arch: b.arch,
        macs: b.macs?.map((m) => normalizeMac(m) ?? m),
        cpuCount: b.cpu_count,
        memoryMib: b.memory_mib,
        storageGib: b.storage_gib,
        tags: b.tags,
        zone: b.zone,
        pool: b.pool,
        power: b.power,
        rackId: b.rack,
      }),
    );
    return c.json(await render(actor, machine), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    unwrap(await deps.machines.delete(c.get('actor'), c.req.valid('param').id));
    return c.body(null, 204);
  });

  app.openapi(deployRoute, async (c) => {
    const actor = c.get('actor');
    const b = c.req.valid('json');
    const machine = unwrap(
      await deps.machines.deploy(actor, c.req.valid('param').id, {
        os: b.os,
        release: b.release,
        kernel: b.kernel,
        userData: b.user_data,
        ephemeral: b.ephemeral,
        customisation:
          b.customisation === undefined
            ? undefined
            : {
                packages: b.customisation.packages,
                commands: b.customisation.commands,
                files: b.customisation.files.map((f) => ({
                  path: f.path,
                  contentBase64: f.content_base64,
                  mode: f.mode,
                })),
              },
      }),
    );
    return c.json(await render(actor, machine), 202);
  });

  app.openapi(releaseRoute, async (c) => {
    const actor = c.get('actor');
    const b = c.req.valid('json');
    const machine = unwrap(
      await deps.machines.release(actor, c.req.valid('param').id, {
        comment: b.comment,
        erase: b.erase === 'none' ? undefined : b.erase,
      }),
    );
    return c.json(await render(actor, machine), 200);
  });

  app.openapi(powerRoute, async (c) => {
    const actor = c.get('actor');
    const machine = unwrap(
      await deps.machines.power(actor, c.req.valid('param').id, c.req.valid('json').action),
    );
    return c.json(await render(actor, machine), 202);
  });

  app.openapi(powerStateRoute, async (c) => {
    const m = unwrap(await deps.machines.get(c.get('actor'), c.req.valid('param').id));
    const seen = m.powerSeenAtMs === null ? null : new Date(m.powerSeenAtMs).toISOString();
    return c.json({ state: m.powerState, seen_at: seen, type: m.power?.type ?? null }, 200);
  });

  app.openapi(eventsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const q = c.req.valid('query');
    unwrap(await deps.machines.get(c.get('actor'), id));
    const events = await deps.store.listEvents({
      machineId: id,
      afterSeq: q.after,
      limit: q.limit,
    });
    return c.json(events.map(eventDto), 200);
  });

  for (const [segment, action, verb] of COMMENT_ACTIONS) {
    const route = createRoute({
      method: 'post',
      path: `/api/v1/machines/{id}/${segment}`,
      tags,
      request: {
        params: IdParam,
        body: { required: false, content: { 'application/json': { schema: CommentBody } } },
      },
      responses: { 200: jsonResponse(MachineDto, 'The machine after the action'), ...ERRORS },
    });
    app.openapi(route, async (c) => {
      const actor = c.get('actor');
      const comment = c.req.valid('json').comment;
      const message = comment === undefined || comment.length === 0 ? verb : `${verb}: ${comment}`;
      return c.json(
        await render(
          actor,
          unwrap(await deps.machines.act(actor, c.req.valid('param').id, action, { message })),
        ),
        200,
      );
    });
  }

  for (const [segment, locked] of [
    ['lock', true],
    ['unlock', false],
  ] as const) {
    const route = createRoute({
      method: 'post',
      path: `/api/v1/machines/{id}/${segment}`,
      tags,
      request: { params: IdParam },
      responses: { 200: jsonResponse(MachineDto, 'The machine'), ...ERRORS },
    });
    app.openapi(route, async (c) => {
      const actor = c.get('actor');
      return c.json(
        await render(
          actor,
          unwrap(await deps.machines.setLocked(actor, c.req.valid('param').id, locked)),
        ),
        200,
      );
    });
  }
}
