import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, hardwareAddress, type DhcpMessage } from './message.ts';
import {
  clientArchitectures,
  clientUuid,
  decodeSubOptions,
  encodeSubOptions,
  messageTypeOf,
  textOption,
  userClasses,
  type DhcpOption,
} from './options.ts';

const testdata = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`./testdata/${name}`, import.meta.url)));

function decoded(bytes: Uint8Array): DhcpMessage {
  const result = decodeMessage(bytes);
  if (!result.ok) throw new Error(`decode failed: ${result.error.kind}`);
  return result.value;
}

const hex = (text: string): number[] =>
  text
    .replace(/#.*$/gm, '')
    .split(/\s+/)
    .filter((token) => token !== '')
    .map((token) => parseInt(token, 16));

// A PXE DISCOVER from SeaBIOS's iPXE ROM as iPXE 1.21 builds it, hand-assembled from its source
// (src/net/udp/dhcp.c) so every field is known.
// prettier-ignore
const IPXE_DISCOVER = new Uint8Array([
  ...hex('01 01 06 00'),          // op BOOTREQUEST, htype ethernet, hlen 6, hops 0
  ...hex('de ad be ef'),          // xid
  ...hex('00 04 80 00'),          // secs 4, flags BROADCAST
  ...hex('00 00 00 00'),          // ciaddr
  ...hex('00 00 00 00'),          // yiaddr
  ...hex('00 00 00 00'),          // siaddr
  ...hex('00 00 00 00'),          // giaddr
  ...hex('52 54 00 12 34 56'), ...new Array<number>(10).fill(0), // chaddr + 10 bytes padding
  ...new Array<number>(64).fill(0),                             // sname
  ...new Array<number>(128).fill(0),                            // file
  ...hex('63 82 53 63'),          // magic cookie
  ...hex('35 01 01'),             // 53 message type DISCOVER
  ...hex('39 02 05 c0'),          // 57 max message size 1472
  ...hex('5d 02 00 00'),          // 93 client arch 0 (BIOS)
  ...hex('5e 03 01 02 01'),       // 94 NDI UNDI 2.1
  ...hex('3c 20'), ...Array.from('PXEClient:Arch:00000:UNDI:002001', (c) => c.charCodeAt(0)), // 60
  ...hex('4d 04 69 50 58 45'),    // 77 user class "iPXE" (bare, no RFC 3004 length)
  ...hex('37 06 01 03 06 0c 0f 43'), // 55 PRL: mask, router, dns, host, domain, bootfile
  ...hex('61 11 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10'), // 97 UUID type 0
  ...hex('af 03 b1 01 01'),       // 175 iPXE encapsulated: 177 (pxeext) = 1
  ...hex('00 00'),                // PAD, PAD (alignment)
  ...hex('ff'),                   // END
]);

describe('decodeMessage', () => {
  it('decodes an annotated iPXE DISCOVER field by field', () => {
    const message = decoded(IPXE_DISCOVER);
    expect(message.op).toBe(1);
    expect(message.xid).toBe(0xdeadbeef);
    expect(message.secs).toBe(4);
    expect(message.flags).toBe(0x8000);
    expect(hardwareAddress(message)).toBe('52:54:00:12:34:56');
    expect(messageTypeOf(message.options)).toBe('discover');
    expect(clientArchitectures(message.options)).toEqual([0]);
    expect(textOption(message.options, 60)).toBe('PXEClient:Arch:00000:UNDI:002001');
    expect(userClasses(message.options)).toEqual(['iPXE']);
    expect(clientUuid(message.options)).toBe('04030201-0605-0807-090a-0b0c0d0e0f10');
    expect(message.options.map((option) => option.code)).toEqual([
      53, 57, 93, 94, 60, 77, 55, 97, 175,
    ]);
  });

  it('decodes a Debian dhclient DISCOVER (testdata/dhclient-discover.bin)', () => {
    const message = decoded(testdata('dhclient-discover.bin'));
    expect(hardwareAddress(message)).toBe('52:54:00:c0:ff:01');
    expect(messageTypeOf(message.options)).toBe('discover');
    expect(textOption(message.options, 12)).toBe('vm'); // host name of the capture machine
    // dhclient 4.4 asks for 1 28 2 3 15 6 119 12 44 47 26 121 42
    expect(Array.from(message.options.find((o) => o.code === 55)?.data ?? [])).toEqual([
      1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42,
    ]);
    expect(encodeMessage(message)).toEqual(testdata('dhclient-discover.bin'));
  });

  it('decodes a busybox udhcpc DISCOVER with PXE options (testdata/udhcpc-discover.bin)', () => {
    const message = decoded(testdata('udhcpc-discover.bin'));
    expect(messageTypeOf(message.options)).toBe('discover');
    expect(clientArchitectures(message.options)).toEqual([0]);
    expect(textOption(message.options, 60)).toBe('PXEClient:Arch:00000:UNDI:002001');
    expect(Array.from(message.options.find((o) => o.code === 61)?.data ?? [])).toEqual([
      1, 0x52, 0x54, 0, 0xc0, 0xff, 1,
    ]);
    // udhcpc ends at END with no padding (304 bytes): re-encoding pads to 300 only if shorter.
    expect(encodeMessage(message)).toEqual(testdata('udhcpc-discover.bin'));
  });

  const failures: Record<string, [Uint8Array, string]> = {
    'empty datagram': [new Uint8Array(0), 'too-short'],
    'header without cookie': [IPXE_DISCOVER.slice(0, 239), 'too-short'],
    'op 3': [Uint8Array.from(IPXE_DISCOVER, (b, i) => (i === 0 ? 3 : b)), 'bad-op'],
    'wrong cookie': [Uint8Array.from(IPXE_DISCOVER, (b, i) => (i === 236 ? 0 : b)), 'bad-cookie'],
    'option length past the end': [
      new Uint8Array([...IPXE_DISCOVER.slice(0, 243), 12, 9, 1]),
      'truncated-option',
    ],
  };
  it.each(Object.entries(failures))('rejects %s', (_name, [bytes, kind]) => {
    const result = decodeMessage(bytes);
    expect(result.ok ? 'ok' : result.error.kind).toBe(kind);
  });

  it('accepts a missing END and clamps hlen (firmware quirks)', () => {
    const noEnd = IPXE_DISCOVER.slice(0, IPXE_DISCOVER.length - 3);
    expect(messageTypeOf(decoded(noEnd).options)).toBe('discover');
    const bigHlen = Uint8Array.from(IPXE_DISCOVER, (b, i) => (i === 2 ? 40 : b));
    expect(decoded(bigHlen).hlen).toBe(16);
  });

  it('reads options carried in file and sname under option overload 52', () => {
    const bytes = IPXE_DISCOVER.slice(0, 240);
    bytes.set([12, 3, 0x61, 0x62, 0x63, 255], 108); // file: 12 host name "abc", END
    bytes.set([15, 2, 0x6c, 0x6e, 255], 44); //         sname: 15 domain "ln", END
    const withOverload = new Uint8Array([...bytes, 0x35, 1, 1, 0x34, 1, 3, 255]);
    const message = decoded(withOverload);
    expect(message.options.map((o) => o.code)).toEqual([53, 12, 15]);
    expect(textOption(message.options, 12)).toBe('abc');
    expect(message.file).toBe('');
  });

  it('concatenates split options (RFC 3396) and splits long ones on encode', () => {
    const long: DhcpOption = { code: 43, data: new Uint8Array(600).fill(7) };
    const bytes = encodeMessage({ ...decoded(IPXE_DISCOVER), options: [long] });
    expect(decoded(bytes).options).toEqual([long]);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        decodeMessage(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on mutated real packets', () => {
    const seeds = [
      IPXE_DISCOVER,
      testdata('dhclient-discover.bin'),
      testdata('udhcpc-discover.bin'),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        fc.nat({ max: 400 }),
        (seed, flips, cut) => {
          const bytes = seed.slice(0, Math.max(cut, 236));
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const result = decodeMessage(bytes);
          if (result.ok) decodeMessage(encodeMessage(result.value));
        },
      ),
      { numRuns: 5000 },
    );
  });
});

const address = fc
  .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
  .map((octets) => octets.join('.'));
const name = (max: number): fc.Arbitrary<string> =>
  fc.string({
    maxLength: max,
    unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
  });
const arbitraryMessage: fc.Arbitrary<DhcpMessage> = fc.record({
  op: fc.constantFrom(1, 2),
  htype: fc.nat(255),
  hlen: fc.nat(16),
  hops: fc.nat(255),
  xid: fc.nat(0xffffffff),
  secs: fc.nat(0xffff),
  flags: fc.nat(0xffff),
  ciaddr: address,
  yiaddr: address,
  siaddr: address,
  giaddr: address,
  chaddr: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  sname: name(63),
  file: name(127),
  options: fc
    .uniqueArray(
      fc.integer({ min: 1, max: 254 }).filter((code) => code !== 52),
      { maxLength: 12 },
    )
    .chain((codes) =>
      fc.tuple(
        ...codes.map((code) => fc.uint8Array({ maxLength: 600 }).map((data) => ({ code, data }))),
      ),
    )
    .map((options) => [
      ...options.filter((o) => o.code === 53),
      ...options.filter((o) => o.code !== 53),
    ]),
});

describe('encodeMessage', () => {
  it('round-trips any message through decodeMessage', () => {
    fc.assert(
      fc.property(arbitraryMessage, (message) => {
        expect(decoded(encodeMessage(message))).toEqual(message);
      }),
      { numRuns: 2000 },
    );
  });

  it('pads short messages to the 300-byte BOOTP minimum', () => {
    expect(encodeMessage({ ...decoded(IPXE_DISCOVER), options: [] }).length).toBe(300);
  });
});

describe('sub-options', () => {
  it('round-trips PXE option 43 and iPXE 175 bodies', () => {
    const body = encodeSubOptions([{ code: 176, data: new Uint8Array([1]) }]);
    expect(Array.from(body)).toEqual([176, 1, 1, 255]); // 176 no-pxedhcp = 1, END
    expect(decodeSubOptions(body)).toEqual([{ code: 176, data: new Uint8Array([1]) }]);
  });
});
