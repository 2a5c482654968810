/**
 * `/api/v1/subnets`: the networks racks serve, and IP reservations on them.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Reservation, Subnet } from '../domain/network/subnet.ts';
import { DHCP_MODES } from '../domain/network/subnet.ts';
import { ERRORS, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from './context.ts';
import { unwrap } from './problem.ts';

const IPv4 = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'an IPv4 address')
  .openapi({ example: '172.31.0.1' });
const Range = z.object({ start: IPv4, end: IPv4 }).strict();

const SubnetFields = {
  cidr: z.string().min(9).max(18).openapi({ example: '172.31.0.0/24' }),
  name: z.string().min(1).max(63),
  gateway: IPv4.nullable(),
  dns_servers: z.array(IPv4).max(8),
  dynamic_ranges: z.array(Range).max(16),
  lease_seconds: z.number().int(),
  domain: z.string().min(1).max(253),
  dhcp_mode: z.enum(DHCP_MODES),
  rack: z.string().min(1).max(64).nullable(),
  interface: z.string().min(1).max(15).nullable(),
};

const CreateSubnetBody = z
  .object(SubnetFields)
  .partial()
  .required({ cidr: true })
  .strict()
  .openapi('CreateSubnet');
const UpdateSubnetBody = z.object(SubnetFields).partial().strict().openapi('UpdateSubnet');

const SubnetDto = z
  .object({
    id: z.string(),
    cidr: z.string(),
    name: z.string(),
    gateway: z.string().nullable(),
    dns_servers: z.array(z.string()),
    dynamic_ranges: z.array(z.object({ start: z.string(), end: z.string() })),
    lease_seconds: z.number(),
    domain: z.string(),
    dhcp_mode: z.enum(DHCP_MODES),
    rack_id: z.string().nullable(),
    interface: z.string().nullable(),
  })
  .openapi('Subnet');

const ReservationDto = z
  .object({
    mac: z.string(),
    ip: z.string(),
    hostname: z.string().nullable(),
    subnet_id: z.string(),
  })
  .openapi('Reservation');

function subnetDto(s: Subnet): z.infer<typeof SubnetDto> {
  return {
    id: s.id,
    cidr: s.cidr,
    name: s.name,
    gateway: s.gateway,
    dns_servers: [...s.dnsServers],
    dynamic_ranges: s.dynamicRanges.map((r) => ({ ...r })),
    lease_seconds: s.leaseSeconds,
    domain: s.domain,
    dhcp_mode: s.dhcpMode,
    rack_id: s.rackId,
    interface: s.interface,
  };
}

function reservationDto(r: Reservation): z.infer<typeof ReservationDto> {
  return { mac: r.mac, ip: r.ip, hostname: r.hostname, subnet_id: r.subnetId };
}

function subnetInput(b: z.infer<typeof UpdateSubnetBody>) {
  return {
    cidr: b.cidr,
    name: b.name,
    gateway: b.gateway,
    dnsServers: b.dns_servers,
    dynamicRanges: b.dynamic_ranges,
    leaseSeconds: b.lease_seconds,
    domain: b.domain,
    dhcpMode: b.dhcp_mode,
    rackId: b.rack,
    interface: b.interface,
  };
}

const tags = ['subnets'];
const IdParam = z.object({ id: z.string().min(1).max(64) });

/** Registers the subnet routes. */
export function registerSubnetRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/subnets',
      tags,
      responses: { 200: jsonResponse(z.array(SubnetDto), 'Subnets'), ...ERRORS },
    }),
    async (c) => c.json((await deps.subnets.list()).map(subnetDto), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/subnets',
      tags,
      summary: 'Create a subnet (admin); racks serving it get the new network config at once',
      request: jsonBody(CreateSubnetBody),
      responses: { 201: jsonResponse(SubnetDto, 'Created'), ...ERRORS },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const subnet = unwrap(
        await deps.subnets.create(c.get('actor'), { ...subnetInput(b), cidr: b.cidr }),
      );
      return c.json(subnetDto(subnet), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/subnets/{id}',
      tags,
      request: { params: IdParam },
      responses: { 200: jsonResponse(SubnetDto, 'The subnet'), ...ERRORS },
    }),
    async (c) => c.json(subnetDto(unwrap(await deps.subnets.get(c.req.valid('param').id))), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/v1/subnets/{id}',
      tags,
      request: { params: IdParam, ...jsonBody(UpdateSubnetBody) },
      responses: { 200: jsonResponse(SubnetDto, 'Updated'), ...ERRORS },
    }),
    async (c) => {
      const subnet = unwrap(
        await deps.subnets.update(
          c.get('actor'),
          c.req.valid('param').id,
          subnetInput(c.req.valid('json')),
        ),
      );
      return c.json(subnetDto(subnet), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/subnets/{id}',
      tags,
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...ERRORS },
    }),
    async (c) => {
      unwrap(await deps.subnets.delete(c.get('actor'), c.req.valid('param').id));
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/subnets/{id}/reservations',
      tags,
      request: { params: IdParam },
      responses: { 200: jsonResponse(z.array(ReservationDto), 'Reservations'), ...ERRORS },
    }),
    async (c) =>
      c.json(
        unwrap(await deps.subnets.reservations(c.req.valid('param').id)).map(reservationDto),
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/subnets/{id}/reservations',
      tags,
      summary: 'Reserve an address for a MAC (admin)',
      request: {
        params: IdParam,
        ...jsonBody(
          z
            .object({
              mac: z.string().min(12).max(17),
              ip: IPv4,
              hostname: z.string().min(1).max(253).optional(),
            })
            .strict(),
        ),
      },
      responses: { 201: jsonResponse(ReservationDto, 'Reserved'), ...ERRORS },
    }),
    async (c) => {
      const r = unwrap(
        await deps.subnets.reserve(c.get('actor'), c.req.valid('param').id, c.req.valid('json')),
      );
      return c.json(reservationDto(r), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/subnets/{id}/reservations/{mac}',
      tags,
      request: {
        params: z.object({ id: z.string().min(1).max(64), mac: z.string().min(12).max(17) }),
      },
      responses: { 204: { description: 'Removed' }, ...ERRORS },
    }),
    async (c) => {
      const { id, mac } = c.req.valid('param');
      unwrap(await deps.subnets.unreserve(c.get('actor'), id, mac));
      return c.body(null, 204);
    },
  );
}
