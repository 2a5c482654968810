import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, type Packet } from './packet.ts';

function bytes(...parts: (number | string)[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else for (const ch of part) out.push(ch.charCodeAt(0));
  }
  return Uint8Array.from(out);
}

const golden: Record<string, { wire: Uint8Array; packet: Packet }> = {
  // RRQ as iPXE sends it: filename, mode, then blksize and tsize (RFC 2347/2348/2349).
  'RRQ with options': {
    // prettier-ignore
    wire: bytes(
      0x00, 0x01,             // opcode 1 = RRQ
      'undionly.kpxe', 0x00,  // filename
      'octet', 0x00,          // mode
      'blksize', 0x00,        // option name
      '1432', 0x00,           // option value
      'tsize', 0x00,          // option name
      '0', 0x00,              // option value: 0 in a request (RFC 2349)
    ),
    packet: {
      opcode: 'rrq',
      filename: 'undionly.kpxe',
      mode: 'octet',
      options: [
        { name: 'blksize', value: '1432' },
        { name: 'tsize', value: '0' },
      ],
    },
  },
  'WRQ without options': {
    // prettier-ignore
    wire: bytes(
      0x00, 0x02,      // opcode 2 = WRQ
      'up.bin', 0x00,  // filename
      'netascii', 0x00,// mode
    ),
    packet: { opcode: 'wrq', filename: 'up.bin', mode: 'netascii', options: [] },
  },
  'DATA block 0x1234': {
    // prettier-ignore
    wire: bytes(
      0x00, 0x03,             // opcode 3 = DATA
      0x12, 0x34,             // block number 4660
      0xde, 0xad, 0xbe, 0xef, // data
    ),
    packet: { opcode: 'data', block: 0x1234, data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
  },
  'empty DATA (ends a file that is a multiple of blksize)': {
    // prettier-ignore
    wire: bytes(
      0x00, 0x03, // opcode 3 = DATA
      0xff, 0xff, // block number 65535
    ),
    packet: { opcode: 'data', block: 0xffff, data: new Uint8Array(0) },
  },
  'ACK block 0 (accepts an OACK)': {
    // prettier-ignore
    wire: bytes(
      0x00, 0x04, // opcode 4 = ACK
      0x00, 0x00, // block number 0
    ),
    packet: { opcode: 'ack', block: 0 },
  },
  'ERROR 1': {
    // prettier-ignore
    wire: bytes(
      0x00, 0x05,              // opcode 5 = ERROR
      0x00, 0x01,              // error code 1 = file not found
      'file not found', 0x00,  // errmsg
    ),
    packet: { opcode: 'error', code: 1, message: 'file not found' },
  },
  OACK: {
    // prettier-ignore
    wire: bytes(
      0x00, 0x06,           // opcode 6 = OACK (RFC 2347)
      'blksize', 0x00,      // option name
      '1468', 0x00,         // granted value
      'windowsize', 0x00,   // option name (RFC 7440)
      '16', 0x00,           // granted value
    ),
    packet: {
      opcode: 'oack',
      options: [
        { name: 'blksize', value: '1468' },
        { name: 'windowsize', value: '16' },
      ],
    },
  },
};

describe('decodePacket / encodePacket golden bytes', () => {
  it.each(Object.entries(golden))('%s decodes', (_name, { wire, packet }) => {
    expect(decodePacket(wire)).toEqual({ ok: true, value: packet });
  });
  it.each(Object.entries(golden))('%s encodes to the same bytes', (_name, { wire, packet }) => {
    expect(encodePacket(packet)).toEqual(wire);
  });
});

describe('decodePacket rejects', () => {
  const cases: Record<string, [Uint8Array, string]> = {
    'an empty datagram': [bytes(), 'truncated'],
    'one byte': [bytes(0x00), 'truncated'],
    'opcode 0': [bytes(0x00, 0x00, 0x00), 'unknown-opcode'],
    'opcode 7': [bytes(0x00, 0x07), 'unknown-opcode'],
    'opcode 0x0101': [bytes(0x01, 0x01), 'unknown-opcode'],
    'an RRQ without NUL after the filename': [bytes(0x00, 0x01, 'file'), 'truncated'],
    'an RRQ without mode': [bytes(0x00, 0x01, 'file', 0x00), 'truncated'],
    'an RRQ with an option name but no value': [
      bytes(0x00, 0x01, 'f', 0x00, 'octet', 0x00, 'blksize', 0x00),
      'malformed',
    ],
    'an RRQ with a trailing unterminated byte': [
      bytes(0x00, 0x01, 'f', 0x00, 'octet', 0x00, 'x'),
      'malformed',
    ],
    'a DATA without block number': [bytes(0x00, 0x03, 0x01), 'truncated'],
    'an ACK without block number': [bytes(0x00, 0x04), 'truncated'],
    'an ERROR without code': [bytes(0x00, 0x05, 0x00), 'truncated'],
    'an OACK with an unterminated value': [bytes(0x00, 0x06, 'a', 0x00, 'b'), 'malformed'],
  };
  it.each(Object.entries(cases))('%s', (_name, [wire, kind]) => {
    const result = decodePacket(wire);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.kind).toBe(kind);
  });
});

describe('decodePacket leniency', () => {
  it('ignores bytes after an ACK block number', () => {
    expect(decodePacket(bytes(0x00, 0x04, 0x00, 0x07, 0x00, 0x00))).toEqual({
      ok: true,
      value: { opcode: 'ack', block: 7 },
    });
  });
  it('accepts an ERROR whose errmsg lacks its NUL', () => {
    expect(decodePacket(bytes(0x00, 0x05, 0x00, 0x02, 'denied'))).toEqual({
      ok: true,
      value: { opcode: 'error', code: 2, message: 'denied' },
    });
  });
  it('keeps every byte of a filename (Latin-1), including high ones', () => {
    const result = decodePacket(bytes(0x00, 0x01, 0xe9, 0xff, 0x00, 'octet', 0x00));
    expect(result.ok && result.value.opcode === 'rrq' && result.value.filename).toBe(
      '\u00e9\u00ff',
    );
  });
});

describe('encodePacket refuses our own bugs', () => {
  it('throws on a block number outside 16 bits', () => {
    expect(() => encodePacket({ opcode: 'ack', block: 65536 })).toThrow(RangeError);
  });
  it('throws on a NUL inside a string', () => {
    expect(() => encodePacket({ opcode: 'error', code: 0, message: 'a\0b' })).toThrow(RangeError);
  });
});

const text = fc.string({
  unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
});
const option = fc.record({ name: text, value: text });
const packetArbitrary: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    opcode: fc.constantFrom('rrq' as const, 'wrq' as const),
    filename: text,
    mode: text,
    options: fc.array(option, { maxLength: 6 }),
  }),
  fc.record({
    opcode: fc.constant('data' as const),
    block: fc.integer({ min: 0, max: 0xffff }),
    data: fc.uint8Array({ maxLength: 2048 }),
  }),
  fc.record({ opcode: fc.constant('ack' as const), block: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({
    opcode: fc.constant('error' as const),
    code: fc.integer({ min: 0, max: 0xffff }),
    message: text,
  }),
  fc.record({ opcode: fc.constant('oack' as const), options: fc.array(option, { maxLength: 6 }) }),
);

describe('properties', () => {
  it('decode(encode(p)) = p', () => {
    fc.assert(
      fc.property(packetArbitrary, (packet) => {
        expect(decodePacket(encodePacket(packet))).toEqual({ ok: true, value: packet });
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on random bytes, and what decodes re-encodes and decodes the same', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (wire) => {
        const first = decodePacket(wire);
        if (first.ok) expect(decodePacket(encodePacket(first.value))).toEqual(first);
      }),
      { numRuns: 20_000 },
    );
  });

  it('never throws on mutated valid packets', () => {
    const mutated = fc
      .tuple(
        packetArbitrary,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))),
        fc.nat(),
      )
      .map(([packet, flips, cut]) => {
        const wire = encodePacket(packet);
        for (const [at, value] of flips) if (wire.length > 0) wire[at % wire.length] = value;
        return wire.subarray(0, wire.length === 0 ? 0 : cut % (wire.length + 1));
      });
    fc.assert(
      fc.property(mutated, (wire) => {
        decodePacket(wire);
      }),
      { numRuns: 20_000 },
    );
  });
});
