/**
 * A checker of MAAS 2.0 JSON as Juju's gomaasapi reads it, for the contract tests: the fields its
 * juju/schema checkers require (`machine_2_0`, `interface_2_0`, `link_2_0`, `subnet_2_0`,
 * `vlan_2_0`, `blockdevice_2_0`, `partition_2_0`, `filesystem_2_0`, `zone_2_0`, `pool_2_0`,
 * `bootresource_2_0`, `tag_2_0`, `domain_2_0`, the version response), with their JSON types,
 * plus what MAAS's documentation gives for fields gomaasapi does not read (`status`, `owner`…).
 * Stricter than gomaasapi where it coerces: a number field must be a JSON number, never a string.
 * Returns every problem with its path; an empty list means the value passes.
 */

/** A check of one value at `path`. */
export type Check = (value: unknown, path: string) => string[];

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;

const expect =
  (name: string, ok: (v: unknown) => boolean): Check =>
  (v, path) =>
    ok(v) ? [] : [`${path}: expected ${name}, got ${typeName(v)} ${JSON.stringify(v)}`];

/** A JSON string (never null). */
export const str: Check = expect('string', (v) => typeof v === 'string');
/** A JSON integer (gomaasapi's `ForceInt`). */
export const int: Check = expect('integer', (v) => typeof v === 'number' && Number.isInteger(v));
/** A non-negative JSON integer (`ForceUint`). */
export const uint: Check = expect(
  'non-negative integer',
  (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0,
);
/** A JSON number. */
export const num: Check = expect('number', (v) => typeof v === 'number' && Number.isFinite(v));
/** A JSON boolean. */
export const bool: Check = expect('boolean', (v) => typeof v === 'boolean');
/** Anything. */
export const any: Check = () => [];

/** null, or what `inner` accepts (`OneOf(Nil(""), …)`). */
export const nullable =
  (inner: Check): Check =>
  (v, path) =>
    v === null ? [] : inner(v, path);

/** A list whose every item passes `item`. */
export const list =
  (item: Check): Check =>
  (v, path) =>
    Array.isArray(v)
      ? v.flatMap((x, i) => item(x, `${path}[${i}]`))
      : expect('list', () => false)(v, path);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON object whose every value passes `value` (`StringMap`). */
export const map =
  (value: Check): Check =>
  (v, path) =>
    isObject(v)
      ? Object.entries(v).flatMap(([k, x]) => value(x, `${path}.${k}`))
      : expect('object', () => false)(v, path);

/** An object with these fields, all required except those in `optional` (`FieldMap`). */
export const fields =
  (shape: Readonly<Record<string, Check>>, optional: readonly string[] = []): Check =>
  (v, path) => {
    if (!isObject(v)) return expect('object', () => false)(v, path);
    return Object.entries(shape).flatMap(([k, check]) =>
      k in v ? check(v[k], `${path}.${k}`) : optional.includes(k) ? [] : [`${path}.${k}: missing`],
    );
  };

const vlan = fields({
  id: int,
  resource_uri: str,
  name: nullable(str),
  fabric: str,
  vid: int,
  mtu: int,
  dhcp_on: bool,
  primary_rack: nullable(str),
  secondary_rack: nullable(str),
});

/** gomaasapi `subnet_2_0`. */
export const subnet = fields({
  resource_uri: str,
  id: int,
  name: str,
  space: str,
  gateway_ip: nullable(str),
  cidr: str,
  vlan,
  dns_servers: nullable(list(str)),
});

const link = fields({ id: int, mode: str, subnet, ip_address: str }, ['subnet', 'ip_address']);

const iface = fields(
  {
    resource_uri: str,
    id: int,
    name: str,
    type: str,
    enabled: bool,
    tags: nullable(list(str)),
    vlan: nullable(vlan),
    links: list(link),
    mac_address: nullable(str),
    effective_mtu: int,
    parents: list(str),
    children: list(str),
  },
  ['mac_address'],
);

const filesystem = nullable(
  fields({ fstype: str, mount_point: nullable(str), label: nullable(str), uuid: str }, [
    'mount_point',
    'label',
  ]),
);

const partition = fields(
  {
    resource_uri: str,
    id: int,
    path: str,
    uuid: nullable(str),
    used_for: str,
    size: uint,
    tags: list(str),
    filesystem,
  },
  ['tags'],
);

const blockDevice = fields({
  resource_uri: str,
  id: int,
  uuid: nullable(str),
  name: str,
  model: nullable(str),
  id_path: nullable(str),
  path: str,
  used_for: str,
  tags: list(str),
  block_size: uint,
  used_size: uint,
  size: uint,
  filesystem,
  partitions: list(partition),
});

/** gomaasapi `zone_2_0` (and `pool_2_0`, the same fields). */
export const zone = fields({ name: str, description: str, resource_uri: str });

/** gomaasapi `machine_2_0`, plus the MAAS fields it does not read. */
export const machine = fields(
  {
    resource_uri: str,
    system_id: str,
    hostname: str,
    fqdn: str,
    tag_names: list(str),
    owner_data: map(str),
    osystem: str,
    distro_series: str,
    architecture: nullable(str),
    memory: int,
    cpu_count: int,
    hardware_info: map(str),
    ip_addresses: list(str),
    power_state: str,
    status_name: str,
    status_message: nullable(str),
    boot_interface: nullable(iface),
    interface_set: list(iface),
    zone,
    pool: nullable(zone),
    physicalblockdevice_set: list(blockDevice),
    blockdevice_set: list(blockDevice),
    // MAAS's documented fields gomaasapi leaves alone.
    status: int,
    owner: nullable(str),
    locked: bool,
    storage: num,
    power_type: str,
    netboot: bool,
  },
  ['architecture'],
);

/** An allocate answer: a machine with `constraints_by_type`. */
export const allocated: Check = (v, path) => [
  ...machine(v, path),
  ...fields({
    constraints_by_type: fields({ storage: map(list(any)), interfaces: map(list(int)) }, [
      'storage',
      'interfaces',
    ]),
  })(v, path),
];

/** gomaasapi's version response. */
export const version = fields({ capabilities: list(str), version: str, subversion: str });

/** gomaasapi `bootresource_2_0`. */
export const bootResource = fields(
  {
    resource_uri: str,
    id: int,
    name: str,
    type: str,
    architecture: str,
    subarches: str,
    kflavor: str,
  },
  ['subarches', 'kflavor'],
);

/** gomaasapi `tag_2_0`. */
export const tag = fields({
  resource_uri: str,
  name: str,
  comment: str,
  definition: str,
  kernel_opts: str,
});

/** gomaasapi `domain_2_0`. */
export const domain = fields({
  authoritative: bool,
  resource_record_count: int,
  ttl: nullable(int),
  resource_uri: str,
  id: int,
  name: str,
});

/** gomaasapi `space_2_0`. */
export const space = fields({ resource_uri: str, id: int, name: str, subnets: list(subnet) });

/** gomaasapi `fabric_2_0`. */
export const fabric = fields({
  resource_uri: str,
  id: int,
  name: str,
  class_type: nullable(str),
  vlans: list(vlan),
});

/** MAAS's `users/?op=whoami`. */
export const whoami = fields({ username: str, email: str, is_superuser: bool, is_local: bool });
