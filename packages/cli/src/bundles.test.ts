import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '@ingot/common';
import {
  AGENT_BUNDLE,
  AGENT_NODE_FLAGS,
  buildAgentBundle,
  buildBundle,
  CONTROLLER_BUNDLE,
} from './bundles.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** The unit's ExecStart words, continuation lines joined. */
function execStart(unitText: string): string[] {
  const joined = unitText.replace(/\\\n\s*/g, ' ');
  const line = joined.split('\n').find((l) => l.startsWith('ExecStart='));
  if (line === undefined) throw new Error('no ExecStart= in the unit');
  return line.slice('ExecStart='.length).trim().split(/\s+/);
}

describe('agent bundle', () => {
  it('is what the systemd unit runs, with the same Node flags', () => {
    const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'ingot-rack-agent.service'), 'utf8');
    const words = execStart(unit);
    expect(words[0]).toBe('/usr/bin/node');
    const script = words.findIndex((w) => w.endsWith('.mjs'));
    expect(words.slice(1, script)).toEqual([...AGENT_NODE_FLAGS]);
    expect(words[script]).toBe(join('/opt/ingot', relative(ROOT, AGENT_BUNDLE)));
  });

  it('builds a file plain node runs as the agent, with the helpers it starts beside it', async () => {
    const path = await buildAgentBundle();
    const help = await promisify(execFile)(process.execPath, [...AGENT_NODE_FLAGS, path, '--help']);
    expect(help.stdout).toMatch(/^Usage: ingot-agent --controller/);
    const bad = await promisify(execFile)(process.execPath, [path, '--controller', 'x:1']).then(
      () => ({ code: 0, stderr: '' }),
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--data DIR is required');
    // Files the agent opens beside its module are beside the bundle too.
    for (const helper of ['device-helper.py', 'ra-sender.py'])
      expect(readFileSync(join(dirname(path), helper), 'utf8')).toMatch(/^#!/);
  });
});

describe('controller bundle', () => {
  it('is what the systemd unit runs', () => {
    const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'ingot-controller.service'), 'utf8');
    const words = execStart(unit);
    expect(words.slice(0, 2)).toEqual([
      '/usr/bin/node',
      join('/opt/ingot', relative(ROOT, CONTROLLER_BUNDLE)),
    ]);
  });

  it('runs under plain node: a fresh SQLite store, the API, the built web UI, a clean stop', async () => {
    const path = await buildBundle('controller');
    const data = mkdtempSync(join(tmpdir(), 'ingot-controller-bundle-'));
    const [http, grpc] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [path, '--data', data, '--http', `127.0.0.1:${http}`, '--grpc', `127.0.0.1:${grpc}`],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INGOT_DB: '' } },
    );
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      for (let i = 0; i < 300 && !out.includes('listening on http://'); i++) {
        expect(child.exitCode, out).toBeNull();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).toContain(`listening on http://127.0.0.1:${http}`);
      const base = `http://127.0.0.1:${http}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      // The store was migrated and the admin made: its key lists the (no) machines.
      const key = readFileSync(join(data, 'admin.key'), 'utf8').trim();
      const machines = await fetch(`${base}/api/v1/machines`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(machines.status).toBe(200);
      expect(await machines.json()).toEqual([]);
      // The UI is found from the bundle's place as from the source's (setup.sh builds it).
      const index = join(ROOT, 'packages', 'ui', 'dist', 'index.html');
      const page = await fetch(`${base}/machines/abc`);
      if (existsSync(index)) {
        expect(page.status).toBe(200);
        expect(await page.text()).toBe(readFileSync(index, 'utf8'));
      } else {
        expect(page.status).toBe(503);
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(data, { recursive: true, force: true });
    }
  }, 60_000);
});
