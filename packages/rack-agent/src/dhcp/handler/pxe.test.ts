import { describe, expect, it } from 'vitest';
import { decodeSubOptions, findOption, textOption } from '../codec/options.ts';
import { handle } from './handle.ts';
import {
  MAC,
  PXE,
  arch,
  context,
  newEnv,
  option,
  request,
  requested,
  serverId,
  summary,
  type Case,
} from './handle.fixtures.ts';

const cases: Record<string, Case> = {
  'BIOS PXE (arch 0) → undionly.kpxe with next-server': {
    request: request('discover', { extra: [PXE, arch(0)] }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.1.100',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: 'undionly.kpxe',
      siaddr: '172.31.1.1',
    },
  },
  'x86-64 UEFI (arch 7) → ipxe.efi': {
    request: request('discover', {
      extra: [option(60, 'PXEClient:Arch:00007:UNDI:003016'), arch(7)],
    }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.1.100',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: 'ipxe.efi',
      siaddr: '172.31.1.1',
    },
  },
  'x86-64 UEFI (arch 9) → ipxe.efi': {
    request: request('discover', { extra: [PXE, arch(9)] }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.1.100',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: 'ipxe.efi',
      siaddr: '172.31.1.1',
    },
  },
  'arm64 UEFI (arch 11) → ipxe-arm64.efi': {
    request: request('discover', { extra: [PXE, arch(11)] }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.1.100',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: 'ipxe-arm64.efi',
      siaddr: '172.31.1.1',
    },
  },
  'UEFI HTTP boot (arch 16, HTTPClient) → URL': {
    request: request('discover', {
      extra: [option(60, 'HTTPClient:Arch:00016:UNDI:003016'), arch(16)],
    }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.1.100',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: 'http://172.31.1.1:5248/boot/ipxe.efi',
      siaddr: '172.31.1.1',
    },
  },
  'iPXE (user class 77) → per-machine script URL': {
    request: request('discover', { extra: [PXE, arch(0), option(77, 'iPXE')] }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.1.100',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: 'http://172.31.1.1:5248/ipxe/script?mac=52:54:00:00:00:01',
      siaddr: '172.31.1.1',
    },
  },
  'proxy mode: PXE DISCOVER → OFFER with boot file and no address': {
    request: request('discover', { extra: [PXE, arch(7)] }, { ifName: 'eth4' }),
    expected: {
      type: 'offer',
      yiaddr: '0.0.0.0',
      to: '255.255.255.255:68%eth4',
      serverId: '172.31.4.1',
      file: 'ipxe.efi',
      siaddr: '172.31.4.1',
    },
  },
  'proxy mode: plain DISCOVER → silence': {
    request: request('discover', {}, { ifName: 'eth4' }),
    expected: { dropped: 'not-pxe' },
  },
  'proxy mode: REQUEST on port 4011 → ACK to the client port': {
    request: request(
      'request',
      { ciaddr: '172.31.4.60', extra: [PXE, arch(0)] },
      { ifName: 'eth4', localPort: 4011, remoteAddress: '172.31.4.60', remotePort: 4011 },
    ),
    expected: {
      type: 'ack',
      yiaddr: '0.0.0.0',
      to: '172.31.4.60:4011%eth4',
      serverId: '172.31.4.1',
      file: 'undionly.kpxe',
      siaddr: '172.31.4.1',
    },
  },
  'proxy mode: REQUEST to the real server → silence': {
    request: request(
      'request',
      { extra: [PXE, serverId('172.31.4.2'), requested('172.31.4.60')] },
      { ifName: 'eth4' },
    ),
    expected: { dropped: 'other-server' },
  },
};

describe('handle: PXE, iPXE, HTTP boot and proxyDHCP', () => {
  it.each(Object.entries(cases))('%s', (_name, c) => {
    const env = newEnv();
    c.before?.(env);
    expect(summary(handle(c.request, context(env)))).toEqual(c.expected);
  });

  it('iPXE replies carry 175.176 = 1 and echo relay agent info (82)', () => {
    const circuit = option(82, new Uint8Array([1, 3, 0x65, 0x74, 0x31]));
    const result = handle(
      request('discover', { giaddr: '172.31.3.254', extra: [option(77, 'iPXE'), circuit] }),
      context(newEnv()),
    );
    const options = result.reply?.message.options ?? [];
    expect(decodeSubOptions(findOption(options, 175) ?? new Uint8Array())).toEqual([
      { code: 176, data: new Uint8Array([1]) },
    ]);
    expect(findOption(options, 82)).toEqual(circuit.data);
  });

  it('UEFI HTTP boot replies echo HTTPClient in option 60', () => {
    const result = handle(
      request('discover', { extra: [option(60, 'HTTPClient'), arch(16)] }),
      context(newEnv()),
    );
    expect(textOption(result.reply?.message.options ?? [], 60)).toBe('HTTPClient');
  });

  it('enlists an unknown PXE-booting MAC with its arch, but not a known one', () => {
    const env = newEnv();
    const unknown = handle(request('discover', { extra: [PXE, arch(7)] }), context(env));
    expect(unknown.effects).toMatchObject([{ kind: 'enlist', mac: MAC, clientArch: 7 }]);
    env.known.set(MAC, 'm-1');
    expect(handle(request('discover', { extra: [PXE, arch(7)] }), context(env)).effects).toEqual(
      [],
    );
    const ack = handle(
      request('request', { extra: [PXE, arch(7), requested('172.31.1.100')] }),
      context(env),
    );
    expect(ack.effects[1]).toMatchObject({
      kind: 'ack',
      machineId: 'm-1',
      clientArch: 7,
      bootFile: 'ipxe.efi',
    });
  });
});
