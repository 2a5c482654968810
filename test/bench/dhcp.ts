/**
 * `pnpm bench:dhcp`: Debian's perfdhcp (kea-admin) against Ingot's DHCP server and against
 * kea-dhcp4 (memfile, persisted) in the same run, at rising rates. perfdhcp acts as a relay
 * (sets giaddr, unicasts), so both servers see the same relayed DORA traffic. Everything runs in
 * two network namespaces joined by a veth pair, addresses inside 172.31.0.0/16 only; the
 * namespaces and every process started here are removed at the end (processes by PID).
 *
 * The figure per server is the highest rate whose run had no drops in DISCOVER-OFFER nor
 * REQUEST-ACK. Both servers write leases durably (Ingot: SQLite WAL; Kea: its memfile CSV).
 * Last line: `dhcp: ingot <n>/s kea <n>/s ratio <r>`.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RATES = process.argv
  .find((a) => a.startsWith('--rates='))
  ?.slice(8)
  .split(',')
  .map(Number) ?? [500, 1000, 2000, 2500, 3000, 3500, 4000, 6000, 8000];
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const PERIOD_S = 10;
const SERVER_IP = '172.31.0.1';
const RELAY_IP = '172.31.0.2';
const CLIENTS = 60_000;
const BENCH_SERVER = fileURLToPath(
  new URL('../../packages/rack-agent/src/dhcp/bench-server.ts', import.meta.url),
);

const tag = `ingot-bdhcp-${process.pid}`;
const srv = `${tag}-srv`;
const cli = `${tag}-cli`;
const work = mkdtempSync(join(tmpdir(), 'ingot-bench-dhcp-'));
const started: ChildProcess[] = [];

const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: 'ignore' });
};

function setUp(): void {
  ip('netns', 'add', srv);
  ip('netns', 'add', cli);
  ip('link', 'add', 'bsrv', 'netns', srv, 'type', 'veth', 'peer', 'name', 'bcli', 'netns', cli);
  ip('-n', srv, 'addr', 'add', `${SERVER_IP}/16`, 'dev', 'bsrv');
  ip('-n', cli, 'addr', 'add', `${RELAY_IP}/16`, 'dev', 'bcli');
  for (const [ns, dev] of [
    [srv, 'bsrv'],
    [cli, 'bcli'],
  ] as const) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
}

function tearDown(): void {
  for (const child of started) {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  for (const ns of [srv, cli]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not created
    }
  }
  rmSync(work, { recursive: true, force: true });
}

const SUBNET = {
  cidr: '172.31.0.0/16',
  gateway: SERVER_IP,
  dnsServers: [SERVER_IP],
  dynamicRanges: [{ start: '172.31.1.0', end: '172.31.255.254' }],
  leaseSeconds: 3600,
  domain: 'bench',
  dhcpMode: 'managed',
  interface: '',
};

interface Server {
  readonly name: 'ingot' | 'kea';
  start(dir: string): Promise<ChildProcess>;
}

function waitFor(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`not ready: ${seen.slice(-500)}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${String(code)}: ${seen.slice(-500)}`)));
  });
}

const ingot: Server = {
  name: 'ingot',
  async start(dir) {
    const config = JSON.stringify({ version: 1, subnets: [SUBNET], reservations: [] });
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        srv,
        process.execPath,
        '--import',
        'tsx',
        BENCH_SERVER,
        dir,
        SERVER_IP,
        config,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    started.push(child);
    await waitFor(child, /ready/, 30_000);
    return child;
  },
};

const kea: Server = {
  name: 'kea',
  async start(dir) {
    const conf = join(dir, 'kea.json');
    writeFileSync(
      conf,
      JSON.stringify({
        Dhcp4: {
          'interfaces-config': { interfaces: ['bsrv'], 'dhcp-socket-type': 'udp' },
          'lease-database': {
            type: 'memfile',
            persist: true,
            name: join(dir, 'leases4.csv'),
            'lfc-interval': 0,
          },
          'valid-lifetime': 3600,
          subnet4: [
            {
              subnet: SUBNET.cidr,
              pools: [{ pool: '172.31.1.0 - 172.31.255.254' }],
              'option-data': [{ name: 'routers', data: SERVER_IP }],
            },
          ],
          loggers: [
            { name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'WARN' },
          ],
        },
      }),
    );
    const child = spawn('ip', ['netns', 'exec', srv, 'kea-dhcp4', '-c', conf], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KEA_PIDFILE_DIR: dir,
        KEA_LOCKFILE_DIR: dir,
        KEA_LOG_CHECK_VERBOSE: '0',
      },
    });
    started.push(child);
    // Kea logs nothing at WARN when healthy; give it a moment to open its sockets.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    if (child.exitCode !== null) throw new Error('kea exited');
    return child;
  },
};

interface Run {
  readonly achieved: number;
  readonly drops: number;
  readonly sent: number;
}

function perfdhcp(rate: number): Promise<Run> {
  const args = [
    'netns',
    'exec',
    cli,
    'perfdhcp',
    '-4',
    '-r',
    String(rate),
    '-p',
    String(PERIOD_S),
    '-R',
    String(CLIENTS),
    '-W',
    '1000000',
    '-l',
    RELAY_IP,
    SERVER_IP,
  ];
  return new Promise((resolve) => {
    execFile(
      'ip',
      args,
      { timeout: (PERIOD_S + 30) * 1000, maxBuffer: 1 << 20 },
      (_error, stdout) => {
        if (process.argv.includes('--verbose')) process.stderr.write(stdout);
        const achieved = Number(/Rate: ([\d.]+) 4-way/.exec(stdout)?.[1] ?? 0);
        const drops = [...stdout.matchAll(/^drops: (\d+)/gm)].reduce(
          (sum, m) => sum + Number(m[1]),
          0,
        );
        const sent = Number(/sent packets: (\d+)/.exec(stdout)?.[1] ?? 0);
        resolve({ achieved, drops, sent });
      },
    );
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stderr?.on('data', (chunk: Buffer) => {
    if (process.argv.includes('--verbose')) process.stderr.write(chunk);
  });
  process.kill(child.pid, 'SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
}

async function benchServer(server: Server): Promise<number> {
  let best = 0;
  for (const rate of RATES) {
    // The lab machine is shared: one retry separates a noisy run from a real limit.
    let run: Run = { achieved: 0, drops: 1, sent: 0 };
    for (let attempt = 0; attempt < 2 && (run.drops > 0 || run.sent === 0); attempt++) {
      const dir = mkdtempSync(join(work, `${server.name}-${rate}-${attempt}-`));
      const child = await server.start(dir);
      run = await perfdhcp(rate);
      await stop(child);
    }
    const clean = run.drops === 0 && run.sent > 0;
    process.stdout.write(
      `${server.name.padEnd(5)} target ${String(rate).padStart(5)}/s  achieved ${run.achieved.toFixed(0).padStart(5)} DORA/s  drops ${run.drops}${clean ? '' : '  (stop)'}\n`,
    );
    if (!clean) break;
    best = Math.max(best, run.achieved);
  }
  return best;
}

try {
  setUp();
  const ingotRate = ONLY === 'kea' ? 0 : await benchServer(ingot);
  const keaRate = ONLY === 'ingot' ? 0 : await benchServer(kea);
  const ratio = keaRate === 0 ? 0 : ingotRate / keaRate;
  process.stdout.write(
    `dhcp: ingot ${ingotRate.toFixed(0)}/s kea ${keaRate.toFixed(0)}/s ratio ${ratio.toFixed(2)}\n`,
  );
} finally {
  tearDown();
}
