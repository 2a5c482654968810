/**
 * `/api/v1/events`, `/api/v1/racks` and `/api/v1/users`.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { EVENT_KINDS, type EventRecord } from '../domain/event.ts';
import { ERRORS, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from './context.ts';
import { CreateUserBody, EventDto, RackDto, UserDto, eventDto, rackDto, userDto } from './dto.ts';
import { unwrap } from './problem.ts';

const eventsRoute = createRoute({
  method: 'get',
  path: '/api/v1/events',
  tags: ['events'],
  summary: 'Events, oldest first (admins see all; users those of machines they may see)',
  request: {
    query: z
      .object({
        after: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).optional(),
        machine: z.string().min(1).max(64).optional(),
        kind: z
          .string()
          .regex(/^[a-z]+(,[a-z]+)*$/)
          .transform((v) => v.split(','))
          .pipe(z.array(z.enum(EVENT_KINDS)))
          .optional()
          .openapi({
            type: 'string',
            description: 'Only these kinds, comma-separated: transition, step, power, audit',
            example: 'audit',
          }),
      })
      .strict(),
  },
  responses: { 200: jsonResponse(z.array(EventDto), 'Events'), ...ERRORS },
});

const racksRoute = createRoute({
  method: 'get',
  path: '/api/v1/racks',
  tags: ['racks'],
  responses: {
    200: jsonResponse(z.array(RackDto), 'Racks with health and last heartbeat'),
    ...ERRORS,
  },
});

const ImageCacheDto = z
  .object({
    capacity_bytes: z.number(),
    used_bytes: z.number(),
    reported_at: z.string(),
    files: z.array(z.object({ sha256: z.string(), size_bytes: z.number(), last_used: z.string() })),
  })
  .openapi('RackImageCache');

const rackRoute = createRoute({
  method: 'get',
  path: '/api/v1/racks/{id}',
  tags: ['racks'],
  summary: 'One rack, with the image files its cache holds (as it last reported)',
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: {
    200: jsonResponse(
      RackDto.extend({ image_cache: ImageCacheDto.nullable() }),
      'The rack; image_cache is null until it reports',
    ),
    ...ERRORS,
  },
});

const enrollRoute = createRoute({
  method: 'post',
  path: '/api/v1/racks/enroll-tokens',
  tags: ['racks'],
  summary: 'Create a one-time rack enrollment token (admin)',
  responses: {
    201: jsonResponse(
      z.object({ token: z.string(), expires_at: z.string() }),
      'The token, shown once',
    ),
    ...ERRORS,
  },
});

const revokeRoute = createRoute({
  method: 'post',
  path: '/api/v1/racks/{id}/revoke',
  tags: ['racks'],
  summary:
    'Revoke a rack (admin): its certificate and secret stop working on every controller and its open session is closed',
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: { 200: jsonResponse(RackDto, 'The revoked rack'), ...ERRORS },
});

const usersRoute = createRoute({
  method: 'get',
  path: '/api/v1/users',
  tags: ['users'],
  responses: { 200: jsonResponse(z.array(UserDto), 'Users'), ...ERRORS },
});

const meRoute = createRoute({
  method: 'get',
  path: '/api/v1/users/me',
  tags: ['users'],
  responses: { 200: jsonResponse(UserDto, 'The signed-in user'), ...ERRORS },
});

const createUserRoute = createRoute({
  method: 'post',
  path: '/api/v1/users',
  tags: ['users'],
  summary: 'Create a user and its first API key (admin); the key is shown once',
  request: jsonBody(CreateUserBody),
  responses: { 201: jsonResponse(UserDto.extend({ api_key: z.string() }), 'Created'), ...ERRORS },
});

/** Registers the event, rack and user routes. */
export function registerOtherRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(eventsRoute, async (c) => {
    const q = c.req.valid('query');
    const actor = c.get('actor');
    if (q.machine !== undefined) unwrap(await deps.machines.get(actor, q.machine));
    let events = await deps.store.listEvents({
      machineId: q.machine,
      afterSeq: q.after,
      kinds: q.kind,
      limit: q.limit,
    });
    if (actor.kind === 'user' && actor.user.role !== 'admin' && q.machine === undefined) {
      const visible = new Set((await deps.machines.list(actor)).map((m) => m.id));
      const limit = q.limit ?? 1000;
      // Filtering one page could leave it short or empty while more visible events follow, and a
      // client paging with `after` would stop early: read on until the page is full or the end.
      const page: EventRecord[] = [];
      for (let batch = events; ;) {
        page.push(...batch.filter((e) => e.machineId !== null && visible.has(e.machineId)));
        const last = batch.at(-1);
        if (page.length >= limit || batch.length < limit || last === undefined) break;
        batch = await deps.store.listEvents({ afterSeq: last.seq, kinds: q.kind, limit });
      }
      events = page.slice(0, limit);
    }
    return c.json(events.map(eventDto), 200);
  });

  app.openapi(racksRoute, async (c) => {
    const now = deps.clock.now();
    const holders = new Map(
      (await deps.store.cluster.listRackSessions()).map((lease) => [lease.rackId, lease]),
    );
    return c.json(
      (await deps.racks.list()).map((r) =>
        rackDto(r, now, deps.heartbeatIntervalMs, holders.get(r.id)),
      ),
      200,
    );
  });

  app.openapi(rackRoute, async (c) => {
    const rack = unwrap(await deps.racks.get(c.req.valid('param').id));
    const cache = deps.racks.cacheInventory(rack.id);
    const iso = (ms: number): string => new Date(ms).toISOString();
    return c.json(
      {
        ...rackDto(
          rack,
          deps.clock.now(),
          deps.heartbeatIntervalMs,
          await deps.store.cluster.getRackSession(rack.id),
        ),
        image_cache:
          cache === undefined
            ? null
            : {
                capacity_bytes: cache.capacityBytes,
                used_bytes: cache.files.reduce((n, f) => n + f.sizeBytes, 0),
                reported_at: iso(cache.reportedAtMs),
                files: cache.files.map((f) => ({
                  sha256: f.sha256,
                  size_bytes: f.sizeBytes,
                  last_used: iso(f.lastUsedMs),
                })),
              },
      },
      200,
    );
  });

  app.openapi(enrollRoute, async (c) => {
    const t = unwrap(await deps.racks.createEnrollmentToken(c.get('actor')));
    return c.json({ token: t.token, expires_at: new Date(t.expiresAtMs).toISOString() }, 201);
  });

  app.openapi(revokeRoute, async (c) => {
    const rack = unwrap(await deps.racks.revoke(c.get('actor'), c.req.valid('param').id));
    return c.json(rackDto(rack, deps.clock.now(), deps.heartbeatIntervalMs), 200);
  });

  app.openapi(usersRoute, async (c) =>
    c.json((await deps.users.list(c.get('actor'))).map(userDto), 200),
  );

  app.openapi(meRoute, (c) => c.json(userDto(c.get('user')), 200));

  app.openapi(createUserRoute, async (c) => {
    const b = c.req.valid('json');
    const created = unwrap(
      await deps.users.create(c.get('actor'), { username: b.username, role: b.role }),
    );
    return c.json({ ...userDto(created.user), api_key: created.apiKey }, 201);
  });
}
