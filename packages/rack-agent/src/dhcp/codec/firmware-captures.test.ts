/**
 * Golden tests from real firmware captures (testdata/README.md, testdata/capture-firmware.ts):
 * QEMU 7.2's iPXE ROM under SeaBIOS (virtio-net) and OVMF 2022.11's own UEFI PXE (no NIC ROM).
 * Each capture is decoded field by field, re-encoded byte for byte, and handed to the agent's DHCP
 * handler to check which boot file it would answer with.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NetworkConfig } from '../../domain/network-config.ts';
import { handle } from '../handler/handle.ts';
import { compileNetwork } from '../handler/network.ts';
import type { DhcpRequest } from '../handler/types.ts';
import { createLeaseBook } from '../leases.ts';
import {
  BOOTREQUEST,
  decodeMessage,
  encodeMessage,
  FLAG_BROADCAST,
  hardwareAddress,
  HTYPE_ETHERNET,
  type DhcpMessage,
} from './message.ts';
import {
  addressOption,
  clientArchitectures,
  clientUuid,
  decodeSubOptions,
  findOption,
  messageTypeOf,
  textOption,
  userClasses,
} from './options.ts';

const testdata = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`./testdata/${name}`, import.meta.url)));

function decoded(bytes: Uint8Array): DhcpMessage {
  const result = decodeMessage(bytes);
  if (!result.ok) throw new Error(`decode failed: ${result.error.kind}`);
  return result.value;
}

const bytesOf = (message: DhcpMessage, code: number): number[] =>
  Array.from(findOption(message.options, code) ?? []);
const u16 = (message: DhcpMessage, code: number): number | undefined => {
  const data = findOption(message.options, code);
  return data?.length === 2 ? ((data[0] ?? 0) << 8) | (data[1] ?? 0) : undefined;
};

/** The SMBIOS UUID both VMs were started with (`qemu -uuid`). */
const VM_UUID = '00112233-4455-6677-8899-aabbccddeeff';
/** Option 97 as both firmwares put it on the wire: type 0, then the SMBIOS bytes. */
// prettier-ignore
const UUID_ON_WIRE = [
  0x00, // RFC 4578 §2.3 type 0: UUID
  0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, // time_low, time_mid, time_hi little-endian
  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, // clock_seq and node as printed
];

const IPXE_MAC = '52:54:00:31:00:01';
const OVMF_MAC = '52:54:00:31:00:02';

describe('iPXE ROM under SeaBIOS (testdata/ipxe-bios-discover.bin)', () => {
  const bytes = testdata('ipxe-bios-discover.bin');
  const message = decoded(bytes);

  it('has the header iPXE 1.0.0+ (git 36a4c85) builds', () => {
    expect(bytes.length).toBe(400); // ends right after END: no padding, above the 300-byte floor
    expect(message.op).toBe(BOOTREQUEST); // 1
    expect(message.htype).toBe(HTYPE_ETHERNET); // 1
    expect(message.hlen).toBe(6);
    expect(message.hops).toBe(0);
    expect(message.xid).toBe(0xf05aca1b); // random per boot: whatever was captured
    // iPXE counts secs from when it opened the DHCP session (link-up wait included), so even its
    // first DISCOVER can say 4 under TCG.
    expect(message.secs).toBe(4);
    // No BROADCAST flag: iPXE can receive unicast before it has an address (the hand-assembled
    // DISCOVER in message.test.ts assumed 0x8000).
    expect(message.flags).toBe(0);
    for (const address of [message.ciaddr, message.yiaddr, message.siaddr, message.giaddr]) {
      expect(address).toBe('0.0.0.0');
    }
    expect(hardwareAddress(message)).toBe(IPXE_MAC);
    expect(Array.from(message.chaddr.subarray(6))).toEqual(new Array<number>(10).fill(0));
    expect(message.sname).toBe('');
    expect(message.file).toBe('');
    expect(Array.from(bytes.subarray(236, 240))).toEqual([99, 130, 83, 99]); // magic cookie
  });

  it('sends the options iPXE builds, in its order', () => {
    expect(message.options.map((option) => option.code)).toEqual([
      53, 57, 93, 94, 60, 77, 55, 175, 61, 97,
    ]);
    expect(messageTypeOf(message.options)).toBe('discover'); // 53 = 1
    expect(u16(message, 57)).toBe(1472); // 57 max message size: 1500 - IP - UDP headers
    expect(clientArchitectures(message.options)).toEqual([0]); // 93: x86 BIOS
    expect(bytesOf(message, 94)).toEqual([1, 2, 1]); // 94 NDI: UNDI 2.1
    expect(textOption(message.options, 60)).toBe('PXEClient:Arch:00000:UNDI:002001'); // 60
    // 77 user class: the bare bytes "iPXE", no RFC 3004 length prefix.
    expect(bytesOf(message, 77)).toEqual([0x69, 0x50, 0x58, 0x45]);
    expect(userClasses(message.options)).toEqual(['iPXE']);
    // 55: mask, router, DNS, log server, host name, domain, root path, MTU, vendor (43),
    // vendor class (60), TFTP server (66), boot file (67), domain search (119), PXE 128-135,
    // iPXE encapsulated (175), iSCSI initiator IQN (203).
    expect(bytesOf(message, 55)).toEqual([
      1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175,
      203,
    ]);
    // 61 client identifier: type 1 (Ethernet) + MAC.
    expect(bytesOf(message, 61)).toEqual([1, 0x52, 0x54, 0x00, 0x31, 0x00, 0x01]);
    // 97 UUID: the SMBIOS UUID, first three fields little-endian; clientUuid() prints it as QEMU
    // was given it.
    expect(bytesOf(message, 97)).toEqual(UUID_ON_WIRE);
    expect(clientUuid(message.options)).toBe(VM_UUID);
  });

  it('describes the build in option 175 (iPXE encapsulated options)', () => {
    const sub = decodeSubOptions(findOption(message.options, 175) ?? new Uint8Array(0));
    expect(sub.map((option) => [option.code, Array.from(option.data)])).toEqual([
      [177, [1, 0x1a, 0xf4, 0x10, 0x00]], // 177 bus id: PCI (1), 1af4:1000 = virtio-net
      [235, [1, 0, 0]], // 235 version 1.0.0
      // Feature flags (iPXE include/ipxe/features.h), 1 = present:
      [0x17, [1]], // DNS
      [0x22, [1]], // ELF
      [0x13, [1]], // HTTP
      [0x11, [1]], // iSCSI
      [0x27, [1]], // menu
      [0x19, [1]], // Multiboot
      [0x29, [1]], // NFS
      [0x10, [2]], // PXE API extensions, version 2
      [0x21, [1]], // PXE image format
      [0x15, [1]], // TFTP
      [0x18, [1]], // bzImage
      [0x12, [1]], // AoE
    ]);
  });

  it('re-encodes byte for byte', () => {
    // 53 comes first, every option is under 255 bytes, there is no PAD and nothing after END, and
    // the datagram is over 300 bytes: exactly what encodeMessage writes.
    expect(encodeMessage(message)).toEqual(bytes);
  });
});

describe('OVMF UEFI PXE, no NIC ROM (testdata/ovmf-discover.bin)', () => {
  const bytes = testdata('ovmf-discover.bin');
  const message = decoded(bytes);

  it('has the header EDK2 PxeBc builds', () => {
    expect(bytes.length).toBe(347); // ends right after END
    expect(message.op).toBe(BOOTREQUEST); // 1
    expect(message.htype).toBe(HTYPE_ETHERNET); // 1
    expect(message.hlen).toBe(6);
    expect(message.hops).toBe(0);
    expect(message.xid).toBe(0x7f24100c); // random per boot: whatever was captured
    expect(message.secs).toBe(0);
    expect(message.flags).toBe(FLAG_BROADCAST); // 0x8000: replies must be broadcast
    for (const address of [message.ciaddr, message.yiaddr, message.siaddr, message.giaddr]) {
      expect(address).toBe('0.0.0.0');
    }
    expect(hardwareAddress(message)).toBe(OVMF_MAC);
    expect(Array.from(message.chaddr.subarray(6))).toEqual(new Array<number>(10).fill(0));
    expect(message.sname).toBe('');
    expect(message.file).toBe('');
    expect(Array.from(bytes.subarray(236, 240))).toEqual([99, 130, 83, 99]); // magic cookie
  });

  it('sends the options EDK2 builds, in its order', () => {
    // No 61 client identifier and no 77 user class.
    expect(message.options.map((option) => option.code)).toEqual([53, 57, 55, 97, 94, 93, 60]);
    expect(messageTypeOf(message.options)).toBe('discover'); // 53 = 1
    expect(u16(message, 57)).toBe(1472); // 57 max message size
    // 55 (EDK2 PxeBc's request list): mask, time offset, router, time server, name server, DNS,
    // host name, boot file size, domain, root path, extensions path, max reassembly, TTL,
    // broadcast, NIS domain, NIS servers, NTP, vendor (43), requested IP, lease time, server id,
    // T1, T2, vendor class (60), TFTP server (66), boot file (67), UUID (97), PXE 128-135.
    expect(bytesOf(message, 55)).toEqual([
      1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66,
      67, 97, 128, 129, 130, 131, 132, 133, 134, 135,
    ]);
    expect(bytesOf(message, 97)).toEqual(UUID_ON_WIRE); // 97 UUID, as iPXE sends it
    expect(clientUuid(message.options)).toBe(VM_UUID);
    expect(bytesOf(message, 94)).toEqual([1, 3, 0]); // 94 NDI: UNDI 3.0
    expect(clientArchitectures(message.options)).toEqual([7]); // 93: x64 UEFI
    expect(textOption(message.options, 60)).toBe('PXEClient:Arch:00007:UNDI:003000'); // 60
    expect(findOption(message.options, 77)).toBeUndefined();
    expect(findOption(message.options, 175)).toBeUndefined();
  });

  it('re-encodes byte for byte', () => {
    expect(encodeMessage(message)).toEqual(bytes);
  });
});

describe('REQUESTs from the same exchanges (testdata/*-request.bin)', () => {
  it('iPXE repeats its DISCOVER options and adds 54 and 50 at the end', () => {
    const discover = decoded(testdata('ipxe-bios-discover.bin'));
    const bytes = testdata('ipxe-bios-request.bin');
    const request = decoded(bytes);
    expect(messageTypeOf(request.options)).toBe('request');
    expect(request.xid).toBe(discover.xid); // one transaction
    expect(request.flags).toBe(0);
    expect(request.options.map((option) => option.code)).toEqual([
      53, 57, 93, 94, 60, 77, 55, 175, 61, 97, 54, 50,
    ]);
    expect(addressOption(request.options, 54)).toBe('172.31.0.1'); // the lab's dnsmasq
    expect(addressOption(request.options, 50)).toBe('172.31.0.180'); // its offer
    expect(encodeMessage(request)).toEqual(bytes);
  });

  it('OVMF puts 54 and 50 right after 53 and raises 57 to 65280', () => {
    const discover = decoded(testdata('ovmf-discover.bin'));
    const bytes = testdata('ovmf-request.bin');
    const request = decoded(bytes);
    expect(messageTypeOf(request.options)).toBe('request');
    expect(request.xid).toBe(discover.xid);
    expect(request.flags).toBe(FLAG_BROADCAST);
    expect(request.options.map((option) => option.code)).toEqual([
      53, 54, 50, 57, 55, 97, 94, 93, 60,
    ]);
    expect(addressOption(request.options, 54)).toBe('172.31.0.1');
    expect(addressOption(request.options, 50)).toBe('172.31.0.181');
    // quirk(EDK2): the REQUEST's 57 is 0xff00, not the DISCOVER's 1472; a server must still keep
    // its reply within one Ethernet frame.
    expect(u16(request, 57)).toBe(0xff00);
    expect(encodeMessage(request)).toEqual(bytes);
  });
});

describe('the DHCP handler on the captures', () => {
  // The lab segment the captures came from: br0 172.31.0.0/24, the agent at 172.31.0.1.
  const config: NetworkConfig = {
    version: 1,
    subnets: [
      {
        cidr: '172.31.0.0/24',
        gateway: '172.31.0.1',
        dnsServers: ['172.31.0.1'],
        dynamicRanges: [{ start: '172.31.0.100', end: '172.31.0.199' }],
        leaseSeconds: 3600,
        domain: 'lab',
        dhcpMode: 'managed',
        interface: 'br0',
      },
    ],
    reservations: [],
  };
  const exchange = (
    discover: string,
    request: string,
  ): { offer: DhcpMessage | undefined; ack: DhcpMessage | undefined } => {
    const context = {
      network: compileNetwork(config, {
        localAddresses: [{ ifName: 'br0', address: '172.31.0.1' }],
      }),
      leases: createLeaseBook(),
      nowMs: 1_000_000,
      machineFor: (): string | undefined => undefined,
    };
    const on = (name: string): DhcpRequest => ({
      message: decoded(testdata(name)),
      ifName: 'br0',
      localPort: 67,
      remoteAddress: '0.0.0.0',
      remotePort: 68,
    });
    const offer = handle(on(discover), context).reply?.message;
    const ack = handle(on(request), context).reply?.message;
    return { offer, ack };
  };

  it('answers iPXE (user class iPXE) with the script URL, OFFER and ACK alike', () => {
    const { offer, ack } = exchange('ipxe-bios-discover.bin', 'ipxe-bios-request.bin');
    const script = `http://172.31.0.1:5248/ipxe/script?mac=${IPXE_MAC}`;
    expect(offer && messageTypeOf(offer.options)).toBe('offer');
    expect(offer?.file).toBe(script);
    expect(offer?.siaddr).toBe('172.31.0.1');
    // 175.176 no-pxedhcp = 1, so iPXE skips its ProxyDHCP wait.
    expect(decodeSubOptions(findOption(offer?.options ?? [], 175) ?? new Uint8Array(0))).toEqual([
      { code: 176, data: new Uint8Array([1]) },
    ]);
    expect(ack && messageTypeOf(ack.options)).toBe('ack');
    expect(ack?.yiaddr).toBe('172.31.0.180'); // what the captured REQUEST asked for
    expect(ack?.file).toBe(script);
  });

  it('answers OVMF (arch 7, no iPXE) with ipxe.efi over TFTP and echoes its UUID', () => {
    const { offer, ack } = exchange('ovmf-discover.bin', 'ovmf-request.bin');
    for (const [reply, type] of [
      [offer, 'offer'],
      [ack, 'ack'],
    ] as const) {
      expect(reply && messageTypeOf(reply.options)).toBe(type);
      expect(reply?.file).toBe('ipxe.efi');
      expect(reply?.siaddr).toBe('172.31.0.1'); // next-server: the agent's TFTP
      expect(reply && textOption(reply.options, 60)).toBe('PXEClient');
      // 43.6 = 8: boot the file named here, no boot-server discovery.
      expect(decodeSubOptions(findOption(reply?.options ?? [], 43) ?? new Uint8Array(0))).toEqual([
        { code: 6, data: new Uint8Array([8]) },
      ]);
      expect(reply && clientUuid(reply.options)).toBe(VM_UUID);
    }
    expect(ack?.yiaddr).toBe('172.31.0.181');
  });
});
