import { describe, expect, it } from 'vitest';
import { messageTypeOf } from '../codec/options.ts';
import { handle } from './handle.ts';
import {
  RESERVED_MAC,
  context,
  newEnv,
  request,
  requested,
  serverId,
  summary,
  type Case,
} from './handle.fixtures.ts';

const cases: Record<string, Case> = {
  'DISCOVER on eth1 → OFFER from the eth1 range, broadcast on eth1': {
    request: request('discover'),
    expected: {
      type: 'offer',
      yiaddr: '172.31.1.100',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'DISCOVER on eth2 → OFFER from the eth2 range': {
    request: request('discover', {}, { ifName: 'eth2' }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.2.100',
      to: '255.255.255.255:68%eth2',
      serverId: '172.31.2.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'relayed DISCOVER → subnet by giaddr, reply to the relay on port 67': {
    request: request('discover', { giaddr: '172.31.3.254', hops: 1 }, { ifName: 'eth1' }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.3.100',
      to: '172.31.3.254:67%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'relayed DISCOVER from a subnet not served → silence': {
    request: request('discover', { giaddr: '10.9.9.9' }),
    expected: { dropped: 'subnet-not-served' },
  },
  'DISCOVER on an interface with no subnet → silence': {
    request: request('discover', {}, { ifName: 'eth9' }),
    expected: { dropped: 'subnet-not-served' },
  },
  'DISCOVER on a subnet with DHCP off → silence': {
    request: request('discover', {}, { ifName: 'eth5' }),
    expected: { dropped: 'dhcp-disabled' },
  },
  'reserved MAC → its reserved address and host name': {
    request: request('discover', { mac: RESERVED_MAC }),
    expected: {
      type: 'offer',
      yiaddr: '172.31.1.50',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'REQUEST (SELECTING) naming us → ACK': {
    before: (env) => void handle(request('discover'), context(env)),
    request: request('request', { extra: [requested('172.31.1.100'), serverId('172.31.1.1')] }),
    expected: {
      type: 'ack',
      yiaddr: '172.31.1.100',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'REQUEST naming another server → silence': {
    request: request('request', { extra: [requested('172.31.1.100'), serverId('172.31.1.7')] }),
    expected: { dropped: 'other-server' },
  },
  'REQUEST (INIT-REBOOT) for an address on another subnet → NAK, broadcast': {
    request: request('request', { extra: [requested('172.31.2.100')] }),
    expected: {
      type: 'nak',
      yiaddr: '0.0.0.0',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'REQUEST for an address another client holds → NAK': {
    before: (env) => {
      handle(
        request('request', { mac: '52:54:00:00:00:02', extra: [requested('172.31.1.101')] }),
        context(env),
      );
    },
    request: request('request', { extra: [requested('172.31.1.101')] }),
    expected: {
      type: 'nak',
      yiaddr: '0.0.0.0',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'REQUEST for another machine’s reserved address → NAK': {
    request: request('request', { extra: [requested('172.31.1.50')] }),
    expected: {
      type: 'nak',
      yiaddr: '0.0.0.0',
      to: '255.255.255.255:68%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'RENEWING (ciaddr, unicast) → ACK unicast to ciaddr': {
    before: (env) =>
      void handle(request('request', { extra: [requested('172.31.1.100')] }), context(env)),
    request: request(
      'request',
      { ciaddr: '172.31.1.100' },
      { ifName: undefined, remoteAddress: '172.31.1.100' },
    ),
    expected: {
      type: 'ack',
      yiaddr: '172.31.1.100',
      to: '172.31.1.100:68',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'relayed NAK goes to the relay': {
    request: request('request', { giaddr: '172.31.3.254', extra: [requested('172.31.1.100')] }),
    expected: {
      type: 'nak',
      yiaddr: '0.0.0.0',
      to: '172.31.3.254:67%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'INFORM → ACK without lease, unicast to ciaddr': {
    request: request('inform', { ciaddr: '172.31.1.77' }),
    expected: {
      type: 'ack',
      yiaddr: '0.0.0.0',
      to: '172.31.1.77:68%eth1',
      serverId: '172.31.1.1',
      file: '',
      siaddr: '0.0.0.0',
    },
  },
  'a BOOTREPLY → silence': {
    request: { ...request('discover'), message: { ...request('discover').message, op: 2 } },
    expected: { dropped: 'not-a-request' },
  },
};

describe('handle', () => {
  it.each(Object.entries(cases))('%s', (_name, c) => {
    const env = newEnv();
    c.before?.(env);
    expect(summary(handle(c.request, context(env)))).toEqual(c.expected);
  });

  it('never gives one address to two clients, and stays silent when the pool is empty', () => {
    const env = newEnv();
    const macs = [
      '52:54:00:00:01:01',
      '52:54:00:00:01:02',
      '52:54:00:00:01:03',
      '52:54:00:00:01:04',
    ];
    const offered = macs.map((mac) => handle(request('discover', { mac }), context(env)));
    expect(offered.map((r) => r.reply?.message.yiaddr ?? r.dropped)).toEqual([
      '172.31.1.100',
      '172.31.1.101',
      '172.31.1.102',
      'pool-exhausted',
    ]);
    // After the offer hold lapses, the addresses are free again.
    env.nowMs += 61_000;
    expect(handle(request('discover', { mac: macs[3] }), context(env)).reply?.message.yiaddr).toBe(
      '172.31.1.100',
    );
  });

  it('a client keeps its address across DISCOVERs; RELEASE frees it; DECLINE quarantines it', () => {
    const env = newEnv();
    const bind = handle(request('request', { extra: [requested('172.31.1.101')] }), context(env));
    expect(bind.effects.map((e) => e.kind)).toEqual(['lease', 'ack']);
    expect(handle(request('discover'), context(env)).reply?.message.yiaddr).toBe('172.31.1.101');
    const released = handle(request('release', { ciaddr: '172.31.1.101' }), context(env));
    expect(released.effects).toMatchObject([{ kind: 'lease', action: 'released' }]);
    handle(request('request', { extra: [requested('172.31.1.101')] }), context(env));
    const declined = handle(
      request('decline', { extra: [requested('172.31.1.101')] }),
      context(env),
    );
    expect(declined.effects).toMatchObject([
      { kind: 'lease', action: 'declined', lease: { ip: '172.31.1.101' } },
    ]);
    const other = handle(
      request('request', { mac: '52:54:00:00:00:05', extra: [requested('172.31.1.101')] }),
      context(env),
    );
    expect(messageTypeOf(other.reply?.message.options ?? [])).toBe('nak');
    env.nowMs += 601_000;
    const later = handle(
      request('request', { mac: '52:54:00:00:00:05', extra: [requested('172.31.1.101')] }),
      context(env),
    );
    expect(messageTypeOf(later.reply?.message.options ?? [])).toBe('ack');
  });

  it('renewal reports renewed; expiry reports expired', () => {
    const env = newEnv();
    handle(request('request', { extra: [requested('172.31.1.100')] }), context(env));
    const renew = handle(request('request', { ciaddr: '172.31.1.100' }), context(env));
    expect(renew.effects[0]).toMatchObject({ kind: 'lease', action: 'renewed' });
    env.nowMs += 601_000;
    expect(env.leases.expire(env.nowMs, 100).map((l) => [l.ip, l.state])).toEqual([
      ['172.31.1.100', 'expired'],
    ]);
  });
});
