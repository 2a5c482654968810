import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * Serves `handle` on loopback, then runs `lines` in dash after sourcing the installer's
 * cloud-datasource.sh and report.sh with the token set; `$PORT` and `$WORK` in a line are the
 * server's port and a fresh directory.
 */
async function runReportSh(
  handle: Parameters<typeof createServer>[1],
  lines: readonly string[],
): Promise<void> {
  server = createServer(handle);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  work = mkdtempSync(join(tmpdir(), 'ingot-report-'));
  const script = [
    `. ${LIB}/cloud-datasource.sh`,
    `. ${LIB}/report.sh`,
    `OAUTH_CONSUMER=${TOKEN[0]} OAUTH_TOKEN=${TOKEN[1]} OAUTH_SECRET=${TOKEN[2]}`,
    ...lines.map((l) => l.replaceAll('$PORT', String(port)).replaceAll('$WORK', work)),
  ].join('\n');
  await runCommand('dash', ['-c', script], { timeoutMs: 60_000 });
}

describe('report.sh post_event', () => {
  it('sends a fresh report id per event and the same id on every curl retry of it', async () => {
    const bodies: Record<string, unknown>[] = [];
    let refuse = 1;
    await runReportSh(
      (req, res) => {
        let text = '';
        req.on('data', (chunk: Buffer) => (text += chunk.toString()));
        req.on('end', () => {
          bodies.push(JSON.parse(text) as Record<string, unknown>);
          // The first copy "dies" after its body arrived, as a controller killed mid-commit.
          if (refuse-- > 0) res.destroy();
          else res.writeHead(204).end();
        });
      },
      [
        'LOG=$WORK/installer.log STATE=$WORK STATUS_URL=http://127.0.0.1:$PORT/MAAS/metadata/status/m1',
        'post_event start install.storage "" partitioning',
        'post_event finish install.storage SUCCESS done',
      ],
    );
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

describe('report.sh fetch_metadata', () => {
  it("outlasts 6 s without a metadata service: curl's doubling waits (1, 2, 4 s), not 1 s × 5", async () => {
    const times: number[] = [];
    let start = 0;
    start = Date.now();
    await runReportSh(
      (req, res) => {
        times.push(Date.now());
        // An agent restart plus a controller failover: every connection is cut for 6 s.
        if (Date.now() - start < 6000) return void req.socket.destroy();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"purpose":"install"}');
      },
      [
        'METADATA=http://127.0.0.1:$PORT/MAAS/metadata/',
        'fetch_metadata latest/install-config $WORK/config.json',
      ],
    );
    expect(readFileSync(join(work, 'config.json'), 'utf8')).toBe('{"purpose":"install"}');
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toHaveLength(3);
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThanOrEqual(1900);
    expect(gaps[2]).toBeGreaterThanOrEqual(3900);
  });
});
