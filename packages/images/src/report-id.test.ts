import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '@ingot/lab/command.ts';

const LIB = join(import.meta.dirname, '..', 'installer/lib');
const TOKEN = ['Ck4Tn6JvBwUo3zS3vCk9pQ2a', 'Tk0Zv1tWqJ8dLbPm2nXsRy7e', 'Ts5Hk8mQp3Lr6Wn9Vb2Xc4Zd'];

let server: Server | undefined;
let work = '';
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
  if (work !== '') rmSync(work, { recursive: true, force: true });
  work = '';
});

describe('report.sh post_event', () => {
  it('sends a fresh report id per event and the same id on every curl retry of it', async () => {
    const bodies: Record<string, unknown>[] = [];
    let refuse = 1;
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text) as Record<string, unknown>);
        // The first copy "dies" after its body arrived, as a controller killed mid-commit.
        if (refuse-- > 0) res.destroy();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    work = mkdtempSync(join(tmpdir(), 'ingot-report-'));
    const script = [
      `. ${LIB}/cloud-datasource.sh`,
      `. ${LIB}/report.sh`,
      `LOG=${work}/installer.log STATE=${work} STATUS_URL=http://127.0.0.1:${port}/MAAS/metadata/status/m1`,
      `OAUTH_CONSUMER=${TOKEN[0]} OAUTH_TOKEN=${TOKEN[1]} OAUTH_SECRET=${TOKEN[2]}`,
      'post_event start install.storage "" partitioning',
      'post_event finish install.storage SUCCESS done',
    ].join('\n');
    await runCommand('dash', ['-c', script], { timeoutMs: 30_000 });
    expect(bodies.map((b) => [b['name'], b['event_type']])).toEqual([
      ['install.storage', 'start'],
      ['install.storage', 'start'],
      ['install.storage', 'finish'],
    ]);
    const [first, retry, next] = bodies.map((b) => b['id']);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(retry).toBe(first);
    expect(next).not.toBe(first);
  });
});
