import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Installer } from './installer.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe('Installer.event', () => {
  it('sends a fresh report id per event and the same id on every retry of it', async () => {
    const bodies: { id?: unknown; name?: unknown }[] = [];
    let refuse = 2;
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text) as { id?: unknown; name?: unknown });
        // The first copies "die" after the body arrived, as a controller killed mid-commit.
        if (refuse-- > 0) res.destroy();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const installer = new Installer(
      {
        metadata: `http://127.0.0.1:${port}/MAAS/metadata/`,
        token: 'Ck4Tn6JvBwUo3zS3vCk9pQ2a:Tk0Zv1tWqJ8dLbPm2nXsRy7e:Ts5Hk8mQp3Lr6Wn9Vb2Xc4Zd',
        machineId: 'm1',
        agent: `http://127.0.0.1:${port}`,
        localAddress: '127.0.0.1',
        signal: new AbortController().signal,
      },
      {
        fetch: { backoff: 'fixed', retries: 0, delayMs: 0 },
        event: { backoff: 'fixed', retries: 3, delayMs: 10 },
      },
      () => undefined,
    );
    await installer.event('start', 'install.storage', '', 'partitioning');
    await installer.event('finish', 'install.storage', 'SUCCESS', 'done');
    expect(bodies.map((b) => b.name)).toEqual([
      'install.storage',
      'install.storage',
      'install.storage',
      'install.storage',
    ]);
    const ids = bodies.map((b) => b.id);
    expect(typeof ids[0]).toBe('string');
    expect(ids.slice(0, 3)).toEqual([ids[0], ids[0], ids[0]]);
    expect(ids[3]).not.toBe(ids[0]);
  });
});
