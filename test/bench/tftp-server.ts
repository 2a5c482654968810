/**
 * Runs Ingot's TFTP server alone in its own process for `bench:tftp` (so it competes with the
 * peers on equal terms): `tftp-server.ts <root> <port>`. Prints `listening <port>` on stdout and
 * one JSON line per finished transfer on stderr. Stops on SIGTERM.
 */
import { silentLogger, systemClock } from '@ingot/common';
// The TFTP module is not on @ingot/rack-agent's public exports yet (see tftp/DESIGN.md).
import { createTftpServer, createUdpTransport } from '@ingot/rack-agent';
import { createDirectoryResolver } from '@ingot/rack-agent/testing';

const [root, port] = process.argv.slice(2);
if (root === undefined || port === undefined)
  throw new Error('usage: tftp-server.ts <root> <port>');
const server = await createTftpServer(
  { host: '127.0.0.1', port: Number(port), maxTransfers: 1024 },
  {
    resolver: createDirectoryResolver(root),
    createTransport: (options) => createUdpTransport({ ...options, receiveBufferBytes: 4 << 20 }),
    clock: systemClock,
    logger: silentLogger,
    onTransfer: (r) => process.stderr.write(JSON.stringify({ ...r, file: undefined }) + '\n'),
  },
).start();
process.stdout.write(`listening ${server.address().port}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
