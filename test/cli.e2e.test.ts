import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, tempDir, waitFor, type Proc } from './harness/processes.ts';
import { registerImage } from './harness/scenario.ts';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function ingot(args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const r = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'packages/cli/src/main.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
      },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const f = e as { code: number; stdout: string; stderr: string };
    return { code: f.code, stdout: f.stdout, stderr: f.stderr };
  }
}

describe('ingot up and the operator CLI', () => {
  const data = tempDir('up');
  let up: Proc;
  let env: Record<string, string>;

  beforeAll(async () => {
    const [http, grpc, agentHttp] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'up',
        '--data',
        data.path,
        '--http',
        `127.0.0.1:${http}`,
        '--grpc',
        `127.0.0.1:${grpc}`,
        '--agent-http',
        `127.0.0.1:${agentHttp}`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    up = {
      child,
      pid: child.pid ?? 0,
      output: () => out,
      signal: (s) => child.kill(s),
      exited,
      stop: async () => {
        child.kill('SIGTERM');
        await exited;
      },
    };
    await waitFor(
      'ingot up',
      () => Promise.resolve(out.includes('Press Ctrl-C') ? true : undefined),
      30_000,
    );
    expect(out).toContain(`Controller:  http://127.0.0.1:${http}`);
    const keyFile = join(data.path, 'controller', 'admin.key');
    expect(out).toContain(keyFile);
    env = {
      INGOT_URL: `http://127.0.0.1:${http}`,
      INGOT_API_KEY: readFileSync(keyFile, 'utf8').trim(),
    };
    await registerImage(env.INGOT_URL ?? '', env.INGOT_API_KEY ?? '');
    await waitFor('the local rack', async () => {
      const r = await ingot(['racks', 'list', '--json'], env);
      return (JSON.parse(r.stdout) as { status: string }[])[0]?.status === 'healthy'
        ? true
        : undefined;
    });
  });

  afterAll(async () => {
    await up.stop();
    data.cleanup();
  });

  it('lists racks with the controller holding each session', async () => {
    const json = await ingot(['racks', 'list', '--json'], env);
    const [rack] = JSON.parse(json.stdout) as { id: string; controller: { name: string } | null }[];
    const holder = rack?.controller?.name ?? '';
    expect(holder).not.toBe('');
    const table = await ingot(['racks', 'list'], env);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+STATUS\s+LAST HEARTBEAT\s+OUTBOX\s+CONTROLLER\s+/);
    expect(table.stdout).toMatch(new RegExp(`${rack?.id ?? '?'}\\s.*healthy\\s.*\\s${holder}\\s`));
  });

  it('creates, lists, allocates and shows machines with tables and JSON', async () => {
    const created = await ingot(
      [
        'machines',
        'create',
        '--mac',
        '52:54:00:aa:00:01',
        '--hostname',
        'web1',
        '--cpus',
        '4',
        '--memory',
        '8192',
        '--tags',
        'ssd',
        '--ready',
        '--json',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const machine = JSON.parse(created.stdout) as { id: string; status: string };
    expect(machine.status).toBe('ready');

    const table = await ingot(['machines', 'list'], env);
    expect(table.stdout).toMatch(/^ID\s+HOSTNAME\s+STATUS/);
    expect(table.stdout).toMatch(new RegExp(`${machine.id}\\s+web1\\s+ready`));

    const alloc = await ingot(['machines', 'allocate', '--tags', 'ssd', '--cpus', '2'], env);
    expect(alloc.stdout).toBe(`Allocated web1 (${machine.id})\n`);
    const none = await ingot(['machines', 'allocate', '--tags', 'ssd'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/409 Conflict: no ready machine matches/);

    const events = await ingot(['events', '--machine', machine.id], env);
    expect(events.stdout).toMatch(/allocate\s+succeeded\s+Allocated to admin ready → allocated/);
  });

  it('deploys through the local rack and follows events live', async () => {
    await ingot(
      ['machines', 'create', '--mac', '52:54:00:aa:00:02', '--hostname', 'web2', '--ready'],
      env,
    );
    const id = (
      JSON.parse(
        (await ingot(['machines', 'allocate', '--name', 'web2', '--json'], env)).stdout,
      ) as { id: string }
    ).id;
    const follow = spawn(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/main.ts', 'events', '--follow', '--machine', id],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let followed = '';
    follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    try {
      const deploy = await ingot(
        ['machines', 'deploy', id, '--os', 'debian', '--release', 'bookworm'],
        env,
      );
      expect(deploy.stdout).toBe('web2: deploying — Deploying debian bookworm\n');
      await waitFor('power.on in the followed stream', () =>
        Promise.resolve(/power\.on\s+succeeded/.test(followed) ? true : undefined),
      );
      expect(followed).toMatch(
        /deploy\s+succeeded\s+Deploying debian bookworm allocated → deploying/,
      );
    } finally {
      follow.kill('SIGINT');
    }
  });

  it('explains mistakes with an exit code', async () => {
    const usage = await ingot(['machines', 'frobnicate'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown command: machines frobnicate/);
    const noKey = await ingot(['machines', 'list'], { ...env, INGOT_API_KEY: '' });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/401 Unauthorized: .*API key/);
    const missing = await ingot(['machines', 'show', 'nosuch'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/404 Not Found: no machine nosuch/);
  });
});
