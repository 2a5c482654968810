/**
 * `initramfs/fetch.sh` run as the initramfs runs it: busybox sh with busybox's applets first on
 * PATH (wget, timeout, sleep), against an HTTP server on loopback that fails as an agent being
 * restarted does.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '@ingot/lab/command.ts';

const FETCH_SH = join(import.meta.dirname, '..', 'initramfs', 'fetch.sh');
const APPLETS = ['sh', 'wget', 'timeout', 'sleep', 'rm', 'echo', 'cat'];

let server: Server | undefined;
let work = '';
afterEach(async () => {
  await new Promise((resolve) =>
    server === undefined ? resolve(undefined) : server.close(resolve),
  );
  server = undefined;
  if (work !== '') rmSync(work, { recursive: true, force: true });
  work = '';
});

/** Serves with `handle(n)` for the n-th request (from 1); returns the port and request times. */
async function serve(
  handle: (n: number, req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; times: number[] }> {
  const times: number[] = [];
  server = createServer((req, res) => {
    times.push(Date.now());
    handle(times.length, req, res);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, times };
}

/** Runs `script` after sourcing fetch.sh, in busybox sh with only busybox applets on PATH. */
async function busybox(script: string, env: Record<string, string> = {}): Promise<string> {
  const bin = join(work, 'bin');
  await runCommand('mkdir', ['-p', bin]);
  for (const applet of APPLETS) symlinkSync('/bin/busybox', join(bin, applet));
  const exports = Object.entries({ PATH: bin, ...env }).map(([k, v]) => `export ${k}='${v}'\n`);
  const { stdout } = await runCommand(
    join(bin, 'sh'),
    ['-c', `${exports.join('')}log() { echo "log: $*"; }\n. ${FETCH_SH}\n${script}`],
    { timeoutMs: 60_000 },
  );
  return stdout;
}

describe('initramfs fetch.sh', () => {
  it('fetches again, after 1 s and then 2 s, when the first two connections are cut', async () => {
    const { port, times } = await serve((n, _req, res) => {
      // An agent killed mid-request: the connection closes with no response.
      if (n <= 2) res.socket?.destroy();
      else res.writeHead(200, { 'content-length': 9 }).end('squashfs\n');
    });
    work = mkdtempSync(join(tmpdir(), 'ingot-fetch-'));
    const out = join(work, 'root.squashfs');
    const stdout = await busybox(
      `ingot_fetch http://127.0.0.1:${port}/images/abc?x=1 ${out} && echo FETCHED`,
    );
    expect(stdout).toContain('FETCHED');
    expect(readFileSync(out, 'utf8')).toBe('squashfs\n');
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1900);
    // The query string (which may carry a token) stays out of the console log.
    expect(stdout).toContain(
      `log: fetching http://127.0.0.1:${port}/images/abc: attempt 1 of 7 failed, trying again in 1 s`,
    );
    expect(stdout).toContain('attempt 2 of 7 failed, trying again in 2 s');
    expect(stdout).not.toContain('x=1');
  });

  it('gives up after INGOT_RETRY_TRIES attempts and leaves no partial file', async () => {
    const { port, times } = await serve((_n, _req, res) => {
      // Headers promise 1000 bytes; 10 arrive, then the connection is cut.
      res.writeHead(200, { 'content-length': 1000 });
      res.write('0123456789', () => res.socket?.destroy());
    });
    work = mkdtempSync(join(tmpdir(), 'ingot-fetch-'));
    const out = join(work, 'root.squashfs');
    const stdout = await busybox(
      `ingot_fetch http://127.0.0.1:${port}/images/abc ${out} && echo FETCHED || echo GAVE-UP`,
      { INGOT_RETRY_TRIES: '3' },
    );
    expect(stdout).toContain('GAVE-UP');
    expect(stdout).toContain('attempt 3 of 3 failed, giving up');
    expect(times).toHaveLength(3);
    expect(existsSync(out)).toBe(false);
  });

  it('caps the doubling wait at INGOT_RETRY_MAX_WAIT', async () => {
    work = mkdtempSync(join(tmpdir(), 'ingot-fetch-'));
    const stdout = await busybox('ingot_retry "a step" false || echo GAVE-UP', {
      INGOT_RETRY_TRIES: '4',
      INGOT_RETRY_MAX_WAIT: '1',
    });
    expect(stdout.match(/trying again in \d+ s/g)).toEqual([
      'trying again in 1 s',
      'trying again in 1 s',
      'trying again in 1 s',
    ]);
    expect(stdout).toContain('GAVE-UP');
  });
});
