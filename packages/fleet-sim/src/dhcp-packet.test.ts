import { describe, expect, it } from 'vitest';
import { DHCP, decodeDhcpReply, encodeDhcpRequest } from './dhcp-packet.ts';

/** Options of an encoded request as code → bytes. */
function optionsOf(bytes: Uint8Array): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let i = 240; i < bytes.length && bytes[i] !== 255;) {
    const code = bytes[i] ?? 0;
    const len = bytes[i + 1] ?? 0;
    out.set(code, [...bytes.subarray(i + 2, i + 2 + len)]);
    i += 2 + len;
  }
  return out;
}
const text = (b: number[] | undefined): string => Buffer.from(b ?? []).toString();

/** A server reply as the agent would send it. */
function reply(fields: {
  type: number;
  xid: number;
  yiaddr: string;
  file?: string;
  options?: number[];
}): Uint8Array {
  const out = new Uint8Array(300);
  out[0] = 2;
  out[1] = 1;
  out[2] = 6;
  new DataView(out.buffer).setUint32(4, fields.xid);
  out.set(fields.yiaddr.split('.').map(Number), 16);
  out.set([172, 31, 16, 1], 20);
  out.set([0x52, 0xf1, 0, 1, 0, 2], 28);
  out.set(new TextEncoder().encode(fields.file ?? ''), 108);
  out.set([99, 130, 83, 99], 236);
  out.set(
    [
      53,
      1,
      fields.type,
      54,
      4,
      172,
      31,
      16,
      1,
      51,
      4,
      0,
      0,
      14,
      16,
      ...(fields.options ?? []),
      255,
    ],
    240,
  );
  return out;
}

describe('DHCP requests as firmware sends them', () => {
  it('PXE ROM DISCOVER: BOOTREQUEST, broadcast flag, chaddr, PXEClient arch 0 with UUID', () => {
    const bytes = encodeDhcpRequest({
      type: DHCP.DISCOVER,
      xid: 0x01020304,
      mac: '52:f1:00:01:00:02',
      kind: 'pxe-bios',
      secs: 3,
    });
    expect([...bytes.subarray(0, 12)]).toEqual([1, 1, 6, 0, 1, 2, 3, 4, 0, 3, 0x80, 0]);
    expect([...bytes.subarray(28, 34)]).toEqual([0x52, 0xf1, 0, 1, 0, 2]);
    expect([...bytes.subarray(236, 240)]).toEqual([99, 130, 83, 99]);
    const o = optionsOf(bytes);
    expect(o.get(53)).toEqual([1]);
    expect(text(o.get(60))).toBe('PXEClient:Arch:00000:UNDI:002001');
    expect(o.get(93)).toEqual([0, 0]);
    expect(o.get(97)?.slice(0, 7)).toEqual([0, 0x52, 0xf1, 0, 1, 0, 2]);
    expect(o.has(77)).toBe(false);
  });

  it('iPXE adds user class iPXE; a REQUEST carries the offered address and the server', () => {
    const bytes = encodeDhcpRequest({
      type: DHCP.REQUEST,
      xid: 7,
      mac: '52:f1:00:01:00:02',
      kind: 'ipxe',
      requestedIp: '172.31.24.9',
      serverId: '172.31.16.1',
    });
    const o = optionsOf(bytes);
    expect(o.get(53)).toEqual([3]);
    expect(text(o.get(77))).toBe('iPXE');
    expect(o.get(50)).toEqual([172, 31, 24, 9]);
    expect(o.get(54)).toEqual([172, 31, 16, 1]);
  });

  it('udhcpc: its own vendor class and hostname, no PXE options', () => {
    const o = optionsOf(
      encodeDhcpRequest({
        type: DHCP.DISCOVER,
        xid: 7,
        mac: '52:f1:00:01:00:02',
        kind: 'udhcpc',
        hostname: 'sim-1',
      }),
    );
    expect(text(o.get(60))).toBe('udhcp 1.35.0');
    expect(text(o.get(12))).toBe('sim-1');
    expect(o.has(93)).toBe(false);
  });

  it('refuses a malformed MAC or address instead of sending garbage', () => {
    expect(() =>
      encodeDhcpRequest({ type: DHCP.DISCOVER, xid: 1, mac: '52:f1', kind: 'udhcpc' }),
    ).toThrow(/MAC/);
    expect(() =>
      encodeDhcpRequest({
        type: DHCP.REQUEST,
        xid: 1,
        mac: '52:f1:00:01:00:02',
        kind: 'udhcpc',
        requestedIp: '1.2.3',
      }),
    ).toThrow(/IPv4/);
  });
});

describe('DHCP replies', () => {
  it('reads an OFFER: type, xid, chaddr, yiaddr, siaddr, file, server id, lease', () => {
    expect(
      decodeDhcpReply(
        reply({ type: DHCP.OFFER, xid: 99, yiaddr: '172.31.24.5', file: 'undionly.kpxe' }),
      ),
    ).toEqual({
      type: DHCP.OFFER,
      xid: 99,
      mac: '52:f1:00:01:00:02',
      yiaddr: '172.31.24.5',
      siaddr: '172.31.16.1',
      file: 'undionly.kpxe',
      serverId: '172.31.16.1',
      leaseSeconds: 3600,
    });
  });

  it('option 67 wins over the file field', () => {
    const url = [...new TextEncoder().encode('http://x/s')];
    const r = decodeDhcpReply(
      reply({
        type: DHCP.ACK,
        xid: 1,
        yiaddr: '1.2.3.4',
        file: 'old',
        options: [67, url.length, ...url],
      }),
    );
    expect(r?.file).toBe('http://x/s');
  });

  it('ignores requests, short packets, a wrong cookie and options running past the end', () => {
    const request = encodeDhcpRequest({
      type: DHCP.DISCOVER,
      xid: 1,
      mac: '52:f1:00:01:00:02',
      kind: 'udhcpc',
    });
    expect(decodeDhcpReply(request)).toBeUndefined();
    expect(decodeDhcpReply(new Uint8Array(100))).toBeUndefined();
    const bad = reply({ type: DHCP.OFFER, xid: 1, yiaddr: '1.2.3.4' });
    bad[236] = 0;
    expect(decodeDhcpReply(bad)).toBeUndefined();
    const truncated = reply({ type: DHCP.OFFER, xid: 1, yiaddr: '1.2.3.4' }).subarray(0, 245);
    truncated[244] = 200;
    expect(decodeDhcpReply(truncated)).toBeUndefined();
  });
});
