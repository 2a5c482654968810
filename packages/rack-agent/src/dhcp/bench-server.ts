/**
 * A standalone DHCP server process for `pnpm bench:dhcp` (test/bench/dhcp.ts), which runs it
 * inside a network namespace with `ip netns exec`: relayed traffic only (perfdhcp is the relay),
 * so the plain UDP transport suffices. Leases go to the durable lease file, as in the agent.
 *
 * Usage: node --import tsx bench-server.ts DATA_DIR BIND_ADDRESS CONFIG_JSON
 * Prints `ready` on stdout once bound; exits when stdin closes or on SIGTERM.
 * @internal
 */
import { silentLogger, systemClock } from '@ingot/common';
import type { NetworkConfig } from '../domain/network-config.ts';
import { createUdpTransport } from '../net/udp-transport.ts';
import { compileNetwork } from './handler/network.ts';
import { openLeaseFile } from './lease-file.ts';
import { createLeaseBook } from './leases.ts';
import { createDhcpServer } from './server.ts';

const [dataDir, bindAddress, configJson] = process.argv.slice(2);
if (dataDir === undefined || bindAddress === undefined || configJson === undefined) {
  process.stderr.write('usage: bench-server.ts DATA_DIR BIND_ADDRESS CONFIG_JSON\n');
  process.exit(2);
}
const config = JSON.parse(configJson) as NetworkConfig;
const persistence = openLeaseFile(dataDir);
const transport = await createUdpTransport({
  address: '0.0.0.0',
  port: 67,
  broadcast: true,
  receiveBufferBytes: 8 << 20,
});
const server = createDhcpServer({
  listeners: [{ transport, localPort: 67 }],
  leases: createLeaseBook(persistence),
  network: compileNetwork(config, { localAddresses: [{ ifName: '', address: bindAddress }] }),
  machineFor: () => undefined,
  clock: systemClock,
  logger: silentLogger,
});
const stop = async (): Promise<void> => {
  const stats = server.stats();
  await server.close();
  persistence.close();
  process.stderr.write(JSON.stringify(stats) + '\n');
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
process.stdout.write('ready\n');
