import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIPv4, isHostOf, overlaps, parseCidr, parseIPv4 } from './ipv4.ts';
import { isReservable, validateSubnet, type Subnet } from './subnet.ts';

describe('parseIPv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['255.255.255.255', 2 ** 32 - 1],
    ['172.31.0.1', 172 * 2 ** 24 + 31 * 2 ** 16 + 1],
    ['10.0.0.10', 10 * 2 ** 24 + 10],
  ])('parses %s', (text, value) => {
    expect(parseIPv4(text)).toBe(value);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '1.2.3.999',
    '01.2.3.4',
    '1.2.3.-4',
    '1.2.3.+4',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1..3.4',
    'a.b.c.d',
    '1.2.3.0x4',
    '1.2.3.4e0',
  ])('refuses %j', (text) => {
    expect(parseIPv4(text)).toBeNull();
  });

  it('round-trips every 32-bit address through formatIPv4', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        expect(parseIPv4(formatIPv4(n))).toBe(n);
      }),
    );
  });

  it('round-trips every dotted quad through parseIPv4', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(fc.tuple(octet, octet, octet, octet), (parts) => {
        const text = parts.join('.');
        const parsed = parseIPv4(text);
        expect(parsed).not.toBeNull();
        expect(formatIPv4(parsed ?? -1)).toBe(text);
      }),
    );
  });
});

describe('parseCidr', () => {
  it.each([
    ['172.31.0.0/24', { prefix: 24, first: '172.31.0.0', last: '172.31.0.255' }],
    ['10.0.0.0/8', { prefix: 8, first: '10.0.0.0', last: '10.255.255.255' }],
    ['192.168.1.4/30', { prefix: 30, first: '192.168.1.4', last: '192.168.1.7' }],
  ])('parses %s', (text, want) => {
    const cidr = parseCidr(text);
    expect(cidr?.prefix).toBe(want.prefix);
    expect(formatIPv4(cidr?.network ?? -1)).toBe(want.first);
    expect(formatIPv4(cidr?.broadcast ?? -1)).toBe(want.last);
  });

  it.each([
    ['no prefix', '172.31.0.0'],
    ['host bits set', '172.31.0.1/24'],
    ['prefix too short', '10.0.0.0/7'],
    ['prefix too long', '192.168.1.4/31'],
    ['prefix 32', '192.168.1.4/32'],
    ['three-digit prefix', '10.0.0.0/024'],
    ['bad address', '300.0.0.0/8'],
    ['garbage', 'subnet'],
  ])('refuses %s (%s)', (_, text) => {
    expect(parseCidr(text)).toBeNull();
  });

  it('host addresses exclude network and broadcast', () => {
    const cidr = parseCidr('10.1.0.0/30');
    if (cidr === null) throw new Error('unparsed');
    const host = (ip: string) => isHostOf(cidr, parseIPv4(ip) ?? 0);
    expect(['10.1.0.0', '10.1.0.1', '10.1.0.2', '10.1.0.3'].map(host)).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });
});

describe('overlaps', () => {
  it.each([
    ['10.0.0.0/24', '10.0.0.0/24', true],
    ['10.0.0.0/16', '10.0.5.0/24', true],
    ['10.0.5.0/24', '10.0.0.0/16', true],
    ['10.0.0.0/24', '10.0.1.0/24', false],
    ['10.0.0.0/25', '10.0.0.128/25', false],
    ['10.0.0.0/23', '10.0.1.0/24', true],
  ])('%s vs %s → %s', (a, b, want) => {
    const ca = parseCidr(a);
    const cb = parseCidr(b);
    if (ca === null || cb === null) throw new Error('unparsed');
    expect(overlaps(ca, cb)).toBe(want);
    expect(overlaps(cb, ca)).toBe(want);
  });

  it('is symmetric and matches a brute-force check on small blocks', () => {
    const block = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 30 }))
      .map(([host, prefix]) => {
        const size = 2 ** (32 - prefix);
        const network = 10 * 2 ** 24 + Math.floor((host * 256) / size) * size;
        return parseCidr(`${formatIPv4(network)}/${prefix}`);
      });
    fc.assert(
      fc.property(block, block, (a, b) => {
        if (a === null || b === null) throw new Error('unparsed');
        const brute = a.network <= b.broadcast && b.network <= a.broadcast;
        expect(overlaps(a, b)).toBe(brute);
        expect(overlaps(b, a)).toBe(brute);
      }),
    );
  });
});

type SubnetDef = Pick<Subnet, 'cidr' | 'gateway' | 'dnsServers' | 'dynamicRanges' | 'leaseSeconds'>;

const base: SubnetDef = {
  cidr: '172.31.0.0/24',
  gateway: '172.31.0.1',
  dnsServers: ['172.31.0.1', '9.9.9.9'],
  dynamicRanges: [{ start: '172.31.0.100', end: '172.31.0.199' }],
  leaseSeconds: 3600,
};

describe('validateSubnet', () => {
  const valid: Record<string, Partial<SubnetDef>> = {
    'the base subnet': {},
    'no gateway': { gateway: null },
    'no ranges nor DNS': { dynamicRanges: [], dnsServers: [] },
    'a one-address range': { dynamicRanges: [{ start: '172.31.0.5', end: '172.31.0.5' }] },
    'two disjoint ranges': {
      dynamicRanges: [
        { start: '172.31.0.10', end: '172.31.0.19' },
        { start: '172.31.0.20', end: '172.31.0.29' },
      ],
    },
    'the shortest lease': { leaseSeconds: 60 },
    'the longest lease': { leaseSeconds: 7 * 86400 },
    'a /30': { cidr: '10.9.9.0/30', gateway: '10.9.9.1', dynamicRanges: [] },
  };
  it.each(Object.entries(valid))('accepts %s', (_, patch) => {
    expect(validateSubnet({ ...base, ...patch })).toEqual([]);
  });

  const invalid: Record<string, [Partial<SubnetDef>, string[]]> = {
    'a bad CIDR (and nothing else reported)': [
      { cidr: '172.31.0.1/24', gateway: 'nope', leaseSeconds: 1 },
      ['cidr'],
    ],
    'a gateway outside the subnet': [{ gateway: '172.30.0.1' }, ['gateway']],
    'the network address as gateway': [{ gateway: '172.31.0.0' }, ['gateway']],
    'the broadcast address as gateway': [{ gateway: '172.31.0.255' }, ['gateway']],
    'an unparsable gateway': [{ gateway: 'router' }, ['gateway']],
    'a bad DNS server': [{ dnsServers: ['9.9.9.9', '1.1.1'] }, ['dns_servers']],
    'a range outside the subnet': [
      { dynamicRanges: [{ start: '172.31.0.200', end: '172.31.1.10' }] },
      ['dynamic_ranges.0'],
    ],
    'a descending range': [
      { dynamicRanges: [{ start: '172.31.0.50', end: '172.31.0.40' }] },
      ['dynamic_ranges.0'],
    ],
    'a range reaching the broadcast address': [
      { dynamicRanges: [{ start: '172.31.0.200', end: '172.31.0.255' }] },
      ['dynamic_ranges.0'],
    ],
    'a range holding the gateway': [
      { dynamicRanges: [{ start: '172.31.0.1', end: '172.31.0.50' }] },
      ['dynamic_ranges.0'],
    ],
    'overlapping ranges': [
      {
        dynamicRanges: [
          { start: '172.31.0.10', end: '172.31.0.20' },
          { start: '172.31.0.20', end: '172.31.0.30' },
        ],
      },
      ['dynamic_ranges.1'],
    ],
    'a lease too short': [{ leaseSeconds: 59 }, ['lease_seconds']],
    'a lease too long': [{ leaseSeconds: 7 * 86400 + 1 }, ['lease_seconds']],
    'a fractional lease': [{ leaseSeconds: 90.5 }, ['lease_seconds']],
    'every problem at once': [
      {
        gateway: '10.0.0.1',
        dnsServers: ['x'],
        dynamicRanges: [{ start: 'a', end: 'b' }],
        leaseSeconds: 0,
      },
      ['gateway', 'dns_servers', 'dynamic_ranges.0', 'lease_seconds'],
    ],
  };
  it.each(Object.entries(invalid))('refuses %s', (_, [patch, fields]) => {
    const problems = validateSubnet({ ...base, ...patch });
    expect(problems.map((p) => p.field)).toEqual(fields);
    for (const p of problems) expect(p.detail.length).toBeGreaterThan(0);
  });
});

describe('isReservable', () => {
  it.each([
    ['a host address outside the range', '172.31.0.50', true],
    ['the address just below the range', '172.31.0.99', true],
    ['the address just above the range', '172.31.0.200', true],
    ['the range start', '172.31.0.100', false],
    ['inside the range', '172.31.0.150', false],
    ['the range end', '172.31.0.199', false],
    ['the gateway', '172.31.0.1', false],
    ['the network address', '172.31.0.0', false],
    ['the broadcast address', '172.31.0.255', false],
    ['another subnet', '172.31.1.50', false],
    ['not an address', '172.31.0', false],
  ])('%s (%s) → %s', (_, ip, want) => {
    expect(isReservable(base, ip)).toBe(want);
  });

  it('is false for every address of a dynamic range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 199 }), (host) => {
        expect(isReservable(base, `172.31.0.${host}`)).toBe(false);
      }),
    );
  });
});
