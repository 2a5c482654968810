import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ok, silentLogger, systemClock } from '@ingot/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BootResolver } from '../boot/resolver.ts';
import { createTftpServer, type TftpServerHandle, type TftpTransferReport } from './server.ts';
import { createDirectoryResolver } from './testing/directory-resolver.ts';
import { openRawClient } from './testing/raw-client.ts';
import { createUdpTransport } from './udp-transport.ts';

let root: string;
const file = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);

async function startServer(
  options: { maxTransfers?: number; resolver?: BootResolver } = {},
): Promise<{ server: TftpServerHandle; port: number; reports: TftpTransferReport[] }> {
  const reports: TftpTransferReport[] = [];
  const server = await createTftpServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxTransfers: options.maxTransfers ?? 16,
      retransmit: { initialMs: 100, maxMs: 200, maxRetries: 2 },
    },
    {
      resolver: options.resolver ?? createDirectoryResolver(root),
      createTransport: createUdpTransport,
      clock: systemClock,
      logger: silentLogger,
      onTransfer: (r) => reports.push(r),
    },
  ).start();
  return { server, port: server.address().port, reports };
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ingot-tftp-'));
  await writeFile(join(root, 'pxelinux.0'), file);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('TFTP server over loopback', () => {
  it('serves a file from its own ephemeral port and reports the transfer', async () => {
    const { server, port, reports } = await startServer();
    const client = await openRawClient();
    const first = await client.get('pxelinux.0', port, [{ name: 'tsize', value: '0' }]);
    expect(first.data).toEqual(file);
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ path: 'pxelinux.0', bytes: 3000, ok: true });
    expect(reports[0]?.client.port).toBe(client.port);
    await client.close();
    await server.close();
  });

  it('answers the transfer from a port other than the listening one (RFC 1350 §4 TID)', async () => {
    const { server, port } = await startServer();
    const client = await openRawClient();
    await client.send({ opcode: 'rrq', filename: 'pxelinux.0', mode: 'octet', options: [] }, port);
    const answer = await client.next();
    expect(answer?.packet.opcode).toBe('data');
    expect(answer?.port).not.toBe(port);
    await client.close();
    await server.close();
  });

  const refusals = {
    'a write request': [{ opcode: 'wrq', filename: 'x', mode: 'octet', options: [] }, 2],
    'path traversal': [
      { opcode: 'rrq', filename: '../../etc/passwd', mode: 'octet', options: [] },
      2,
    ],
    'a missing file': [{ opcode: 'rrq', filename: 'nope', mode: 'octet', options: [] }, 1],
    'mail mode': [{ opcode: 'rrq', filename: 'pxelinux.0', mode: 'mail', options: [] }, 4],
  } as const;
  it.each(Object.entries(refusals))(
    'refuses %s, then still serves',
    async (_name, [request, code]) => {
      const { server, port, reports } = await startServer();
      const client = await openRawClient();
      await client.send(request, port);
      expect((await client.next())?.packet).toMatchObject({ opcode: 'error', code });
      const again = await openRawClient();
      expect((await again.get('pxelinux.0', port)).data).toEqual(file);
      if (request.opcode === 'rrq') expect(reports.some((r) => !r.ok)).toBe(true);
      await Promise.all([client.close(), again.close()]);
      await server.close();
    },
  );

  it('ignores a retransmitted RRQ while its transfer runs', async () => {
    const { server, port, reports } = await startServer();
    const client = await openRawClient();
    const rrq = { opcode: 'rrq', filename: 'pxelinux.0', mode: 'octet', options: [] } as const;
    await client.send(rrq, port);
    await client.send(rrq, port);
    const first = await client.next();
    expect(first?.packet).toMatchObject({ opcode: 'data', block: 1 });
    const second = await client.next(50);
    expect(second).toBeUndefined();
    expect(server.activeTransfers()).toBe(1);
    await until(() => reports.length === 1); // no ACK: it times out after 2 retries
    expect(reports[0]).toMatchObject({ ok: false, bytes: 0 });
    await client.close();
    await server.close();
  });

  it('refuses with ERROR 0 beyond maxTransfers', async () => {
    const { server, port } = await startServer({ maxTransfers: 1 });
    const silent = await openRawClient();
    await silent.send({ opcode: 'rrq', filename: 'pxelinux.0', mode: 'octet', options: [] }, port);
    await silent.next();
    const other = await openRawClient();
    await other.send({ opcode: 'rrq', filename: 'pxelinux.0', mode: 'octet', options: [] }, port);
    expect((await other.next())?.packet).toEqual({
      opcode: 'error',
      code: 0,
      message: 'server busy',
    });
    await Promise.all([silent.close(), other.close()]);
    await server.close();
  });

  it('serves generated bytes with windowsize and ignores garbage on port 69', async () => {
    const config = new TextEncoder().encode('#!ipxe\nchain http://boot/${mac}\n'.repeat(200));
    const resolver: BootResolver = {
      resolve: () =>
        Promise.resolve(
          ok({
            content: { kind: 'bytes', data: config },
            sizeBytes: config.length,
            contentType: 'text/plain',
            step: 'boot.config',
          }),
        ),
    };
    const { server, port, reports } = await startServer({ resolver });
    const client = await openRawClient();
    await client.send(Uint8Array.of(0, 9, 1, 2, 3), port);
    await client.send(Uint8Array.of(0, 4, 0, 1), port);
    const fetched = await client.get('boot.ipxe', port, [
      { name: 'blksize', value: '100' },
      { name: 'windowsize', value: '4' },
    ]);
    expect(fetched.data).toEqual(config);
    await until(() => reports.length === 1);
    expect(reports[0]?.file?.step).toBe('boot.config');
    await client.close();
    await server.close();
  });

  it('close() aborts running transfers and releases them', async () => {
    const { server, port, reports } = await startServer();
    const client = await openRawClient();
    await client.send({ opcode: 'rrq', filename: 'pxelinux.0', mode: 'octet', options: [] }, port);
    await client.next();
    await server.close();
    expect(server.activeTransfers()).toBe(0);
    expect(reports).toMatchObject([{ ok: false, reason: 'server closing' }]);
    await client.close();
  });
});
