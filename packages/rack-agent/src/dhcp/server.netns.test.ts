import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePidFile, silentLogger, systemClock } from '@ingot/common';
import type { MacAddress } from '../domain/mac-address.ts';
import type { NetworkConfig, Subnet } from '../domain/network-config.ts';
import type { DatagramTransport } from '../net/datagram-transport.ts';
import { createDeviceTransport } from '../net/device-transport.ts';
import { decodeMessage } from './codec/message.ts';
import { messageTypeOf } from './codec/options.ts';
import { compileNetwork } from './handler/network.ts';
import { openLeaseFile } from './lease-file.ts';
import { createLeaseBook, type LeasePersistence } from './leases.ts';
import { createNetnsLab, netnsAvailable, type Namespace, type NetnsLab } from './netns-lab.ts';
import { createDhcpServer, type DhcpServer, type LeaseChange } from './server.ts';

const RESERVED_MAC = '52:54:00:31:00:99';

const subnet = (n: number, iface: string): Subnet => ({
  cidr: `172.31.${n}.0/24`,
  gateway: `172.31.${n}.1`,
  dnsServers: [],
  dynamicRanges: [{ start: `172.31.${n}.100`, end: `172.31.${n}.199` }],
  leaseSeconds: 600,
  domain: 'lab',
  dhcpMode: 'managed',
  interface: iface,
});

const CONFIG: NetworkConfig = {
  version: 1,
  subnets: [subnet(1, 'r1'), subnet(2, 'r2'), subnet(30, '')],
  reservations: [
    { mac: RESERVED_MAC as MacAddress, ip: '172.31.2.50', hostname: 'res', machineId: 'm-res' },
  ],
};

interface Sent {
  type: string | undefined;
  yiaddr: string;
  ifName: string | undefined;
  to: string;
}

interface Agent {
  server: DhcpServer;
  sent: Sent[];
  leaseChanges: LeaseChange[];
  persistence: LeasePersistence;
}

async function startAgent(rack: Namespace, dataDir: string): Promise<Agent> {
  const sent: Sent[] = [];
  const leaseChanges: LeaseChange[] = [];
  const recording = (transport: DatagramTransport): DatagramTransport => ({
    ...transport,
    send(data, to) {
      const decoded = decodeMessage(data);
      if (decoded.ok) {
        sent.push({
          type: messageTypeOf(decoded.value.options),
          yiaddr: decoded.value.yiaddr,
          ifName: to.ifName,
          to: `${to.address}:${to.port}`,
        });
      }
      return transport.send(data, to);
    },
  });
  const listeners = await Promise.all(
    ['r1', 'r2', 'r3'].map(async (ifName) => ({
      transport: recording(
        await createDeviceTransport({
          ifName,
          port: 67,
          logger: silentLogger,
          commandPrefix: ['ip', 'netns', 'exec', rack.name],
        }),
      ),
      localPort: 67,
    })),
  );
  const persistence = openLeaseFile(dataDir);
  const network = compileNetwork(CONFIG, {
    localAddresses: [
      { ifName: 'r1', address: '172.31.1.1' },
      { ifName: 'r2', address: '172.31.2.1' },
      { ifName: 'r3', address: '172.31.3.1' },
    ],
    relayServerAddress: '172.31.3.1',
  });
  const server = createDhcpServer({
    listeners,
    leases: createLeaseBook(persistence),
    network,
    machineFor: () => undefined,
    clock: systemClock,
    logger: silentLogger,
    events: { lease: (change) => leaseChanges.push(change) },
  });
  return { server, sent, leaseChanges, persistence };
}

async function stopAgent(agent: Agent): Promise<void> {
  await agent.server.close();
  agent.persistence.close();
}

const available = netnsAvailable();

// Skipped only off CI (no root): CI runs as root and must run it.
describe.skipIf(!available && process.env.CI === undefined)(
  'DHCP server with real clients in network namespaces',
  () => {
    let lab: NetnsLab | undefined;
    let rack: Namespace;
    let c1: Namespace;
    let c2: Namespace;
    let c3: Namespace;
    let work: string;
    let agent: Agent | undefined;
    const daemons: string[] = [];

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'ingot-dhcp-netns-'));
      const created = createNetnsLab('dhcp');
      lab = created;
      rack = created.namespace('rack');
      c1 = created.namespace('c1');
      c2 = created.namespace('c2');
      c3 = created.namespace('relay');
      created.link(
        { ns: rack, ifName: 'r1', address: '172.31.1.1/24' },
        { ns: c1, ifName: 'c1', mac: '52:54:00:31:00:01' },
      );
      created.link(
        { ns: rack, ifName: 'r2', address: '172.31.2.1/24' },
        { ns: c2, ifName: 'c2', mac: '52:54:00:31:00:02' },
      );
      // The relay (perfdhcp) reaches the rack over 172.31.3.0/24 and relays for 172.31.30.0/24.
      created.link(
        { ns: rack, ifName: 'r3', address: '172.31.3.1/24' },
        { ns: c3, ifName: 'c3', address: '172.31.3.2/24' },
      );
      await c3.run(['ip', 'addr', 'add', '172.31.30.1/24', 'dev', 'c3']);
      await rack.run(['ip', 'route', 'add', '172.31.30.0/24', 'via', '172.31.3.2']);
      agent = await startAgent(rack, join(work, 'data'));
    }, 60_000);

    afterAll(async () => {
      if (agent !== undefined) await stopAgent(agent);
      for (const pidFile of daemons) {
        const pid = existsSync(pidFile) ? parsePidFile(readFileSync(pidFile, 'utf8')) : undefined;
        if (pid === undefined) continue;
        try {
          process.kill(pid);
        } catch {
          // already gone
        }
      }
      lab?.destroy();
      rmSync(work, { recursive: true, force: true });
    });

    /** The PID in `pidFile` once its daemon has written it (up to 3 s), or undefined. */
    async function daemonPid(pidFile: string): Promise<number | undefined> {
      for (let waited = 0; waited < 3000; waited += 50) {
        const pid = existsSync(pidFile) ? parsePidFile(readFileSync(pidFile, 'utf8')) : undefined;
        if (pid !== undefined) return pid;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return undefined;
    }

    async function stopDaemon(pidFile: string): Promise<void> {
      const pid = await daemonPid(pidFile);
      if (pid === undefined) return;
      rmSync(pidFile, { force: true });
      try {
        process.kill(pid);
      } catch {
        // already gone
      }
    }

    /** A client hook script appending `<reason> <address>` to `<name>.out` (dhclient scrubs env). */
    function hook(name: string): { script: string; out: string } {
      const out = join(work, `${name}.out`);
      const script = join(work, `${name}.sh`);
      writeFileSync(script, `#!/bin/sh\necho "\${reason:-$1} \${new_ip_address:-$ip}" >> ${out}\n`);
      chmodSync(script, 0o755);
      return { script, out };
    }

    async function dhclient(ns: Namespace, ifName: string, name: string): Promise<string> {
      const { script, out } = hook(name);
      const pidFile = join(work, `${name}.pid`);
      daemons.push(pidFile);
      await ns.run(
        [
          'dhclient',
          '-1',
          '-v',
          '-sf',
          script,
          '-lf',
          join(work, `${name}.leases`),
          '-pf',
          pidFile,
          ifName,
        ],
        30_000,
      );
      // dhclient forks to the background once bound and writes its pid file a moment later; wait
      // for it, then stop that daemon (it is ours, by PID) and remove the file.
      await stopDaemon(pidFile);
      const lines = readFileSync(out, 'utf8').trim().split('\n');
      return lines.at(-1) ?? '';
    }

    async function udhcpc(
      ns: Namespace,
      ifName: string,
      name: string,
      extra: string[] = [],
    ): Promise<string> {
      const { script, out } = hook(name);
      await ns.run(
        [
          'busybox',
          'udhcpc',
          '-i',
          ifName,
          '-f',
          '-q',
          '-n',
          '-t',
          '5',
          '-T',
          '1',
          '-s',
          script,
          ...extra,
        ],
        30_000,
      );
      return readFileSync(out, 'utf8').trim().split('\n').at(-1) ?? '';
    }

    it('dhclient on segment 1 and udhcpc on segment 2 each get an address of their own subnet, sent on their own interface', async () => {
      expect(await dhclient(c1, 'c1', 'dhclient-1')).toMatch(/^BOUND 172\.31\.1\.1\d\d$/);
      expect(await udhcpc(c2, 'c2', 'udhcpc-2')).toMatch(/^bound 172\.31\.2\.1\d\d$/);
      const acks = agent!.sent.filter((s) => s.type === 'ack');
      expect(acks.map((s) => [s.yiaddr.split('.')[2], s.ifName])).toEqual([
        ['1', 'r1'],
        ['2', 'r2'],
      ]);
      expect(agent!.leaseChanges.map((c) => c.action)).toEqual(['bound', 'bound']);
    });

    it('a reserved MAC gets its reserved address', async () => {
      await c2.run(['ip', 'link', 'set', 'c2', 'address', RESERVED_MAC]);
      try {
        expect(await udhcpc(c2, 'c2', 'udhcpc-reserved')).toBe('bound 172.31.2.50');
      } finally {
        await c2.run(['ip', 'link', 'set', 'c2', 'address', '52:54:00:31:00:02']);
      }
    });

    it('a relayed client (perfdhcp as relay agent) gets an address of the relayed subnet', async () => {
      // perfdhcp exits 3 when its last exchange is still in flight as its count runs out (-n);
      // the lease assertions below are what matter.
      const output = await c3.run(
        [
          'sh',
          '-c',
          'perfdhcp "$@"; test $? -le 3',
          'perfdhcp',
          '-4',
          '-r',
          '2',
          '-n',
          '2',
          '-R',
          '2',
          '-l',
          '172.31.30.1',
          '172.31.3.1',
        ],
        30_000,
      );
      expect(output).toMatch(/received packets: [1-9]/);
      const relayed = agent!.leaseChanges.filter((c) => c.lease.subnetCidr === '172.31.30.0/24');
      expect(relayed.length).toBeGreaterThan(0);
      expect(relayed[0]?.lease.ip).toMatch(/^172\.31\.30\.1\d\d$/);
      expect(agent!.sent.filter((s) => s.to === '172.31.30.1:67').length).toBeGreaterThan(0);
    });

    it('NAKs a REQUEST for an address of another subnet (dhclient INIT-REBOOT with a stale lease)', async () => {
      writeFileSync(
        join(work, 'stale.leases'),
        'lease {\n  interface "c1";\n  fixed-address 172.31.2.77;\n  option subnet-mask 255.255.255.0;\n  option dhcp-server-identifier 172.31.2.1;\n  renew 4 2037/01/01 00:00:00;\n  rebind 4 2037/01/01 00:00:00;\n  expire 4 2037/01/01 00:00:00;\n}\n',
      );
      const before = agent!.sent.length;
      const last = await dhclient(c1, 'c1', 'stale');
      const naks = agent!.sent.slice(before).filter((s) => s.type === 'nak');
      expect(naks).toEqual([
        { type: 'nak', yiaddr: '0.0.0.0', ifName: 'r1', to: '255.255.255.255:68' },
      ]);
      expect(last).toMatch(/^BOUND 172\.31\.1\.1\d\d$/);
    });

    it('keeps leases across a restart: the same client gets the same address back', async () => {
      const first = await dhclient(c1, 'c1', 'restart');
      await stopAgent(agent!);
      agent = await startAgent(rack, join(work, 'data'));
      const second = await dhclient(c1, 'c1', 'restart');
      expect(second.split(' ')[1]).toBe(first.split(' ')[1]);
      expect(second.split(' ')[0]).toBe('REBOOT');
      expect(agent.leaseChanges.map((c) => c.action)).toEqual(['renewed']);
    });
  },
);
