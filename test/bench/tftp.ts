/**
 * `pnpm bench:tftp`: 64 MiB transfers at blksize 512, 1468, and 1468 + windowsize 16 from
 * Ingot's TFTP server, tftpd-hpa and atftpd (each on a loopback port with a temp root, all
 * fetched by the same client, atftp), then boot storms of 50 and 500 concurrent clients × 20 MiB
 * against Ingot. Figures, not assertions. The last line is
 * `tftp: ingot <MiB/s> best-peer <MiB/s> ratio <r>` for the windowed case (medians).
 *
 * Only processes this script starts are stopped, by their PID. atftpd is unpacked from its
 * Debian package when it is not installed (installing it would remove tftpd-hpa).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { access, chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { report, type BenchResult } from './stats.ts';

const HOST = '127.0.0.1';
const MIB = 1 << 20;

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(command: string, args: readonly string[], cwd?: string): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: stderr + e.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** atftpd from PATH, or unpacked from its .deb (TOOLCHAIN.md: installing it removes tftpd-hpa). */
async function findAtftpd(): Promise<string | undefined> {
  if (await exists('/usr/sbin/atftpd')) return '/usr/sbin/atftpd';
  const dir = join(tmpdir(), 'ingot-bench-atftpd');
  const binary = join(dir, 'root/usr/sbin/atftpd');
  if (await exists(binary)) return binary;
  await mkdir(dir, { recursive: true });
  const download = await exec('apt-get', ['download', 'atftpd'], dir);
  const deb = (await readdir(dir)).find((f) => f.startsWith('atftpd_') && f.endsWith('.deb'));
  if (download.code !== 0 || deb === undefined) return undefined;
  await exec('dpkg', ['-x', deb, 'root'], dir);
  return (await exists(binary)) ? binary : undefined;
}

interface Server {
  readonly name: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** stderr lines so far (Ingot writes one JSON report per transfer). */
  readonly lines: string[];
}

async function startServer(
  name: string,
  command: string,
  args: string[],
  port: number,
): Promise<Server> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let pending = '';
  child.stderr.on('data', (d: Buffer) => {
    pending += d.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stdout.resume();
  // Ready when a real client gets a tiny file.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const probe = await exec('atftp', ['-g', '-r', 'probe', '-l', '/dev/null', HOST, String(port)]);
    if (probe.code === 0) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      throw new Error(`${name} did not start: ${lines.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { name, port, process: child, lines };
}

async function stopServer(server: Server): Promise<void> {
  if (server.process.exitCode !== null) return;
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM'); // by PID: this child only
  const stopped = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000)),
  ]);
  if (!stopped) server.process.kill('SIGKILL');
}

const SETTINGS: Record<string, string[]> = {
  'blksize 512': [],
  'blksize 1468': ['--option', 'blksize 1468'],
  'blksize 1468 windowsize 16': ['--option', 'blksize 1468', '--option', 'windowsize 16'],
};

/** One timed fetch; MiB/s, or 0 when it failed or came back short. */
async function fetchOnce(
  server: Server,
  file: string,
  sizeBytes: number,
  options: string[],
  local: string,
): Promise<number> {
  const started = performance.now();
  const result = await exec('atftp', [
    '-g',
    '-r',
    file,
    '-l',
    local,
    ...options,
    HOST,
    String(server.port),
  ]);
  const seconds = (performance.now() - started) / 1000;
  const size = await stat(local).then(
    (s) => s.size,
    () => -1,
  );
  await rm(local, { force: true });
  return result.code === 0 && size === sizeBytes ? sizeBytes / MIB / seconds : 0;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function storm(
  server: Server,
  clients: number,
  file: string,
  sizeBytes: number,
): Promise<BenchResult> {
  const before = server.lines.length;
  const started = performance.now();
  const exits = await Promise.all(
    Array.from({ length: clients }, () =>
      exec('atftp', [
        '-g',
        '-r',
        file,
        '-l',
        '/dev/null',
        ...(SETTINGS['blksize 1468 windowsize 16'] ?? []),
        HOST,
        String(server.port),
      ]),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 500)); // the server's last report lines
  const reports = server.lines
    .slice(before)
    .map((l) => JSON.parse(l) as { ok: boolean; bytes: number; timeouts?: number });
  const served = reports.filter((r) => r.ok && r.bytes === sizeBytes).length;
  const failed = exits.filter((e) => e.code !== 0).length;
  return {
    name: `storm ${clients} clients × ${sizeBytes / MIB} MiB (ingot, blksize 1468 windowsize 16)`,
    figures: {
      seconds,
      'server timeouts': reports.reduce((n, r) => n + (r.timeouts ?? 0), 0),
      'aggregate MiB/s': (clients * sizeBytes) / MIB / seconds,
      'failed clients': failed,
      'complete server transfers': served,
    },
  };
}

/** Runs the whole benchmark; returns its figures and prints the report as it goes. */
export async function benchTftp(
  reps = 3,
  write = (line: string) => process.stdout.write(line + '\n'),
): Promise<BenchResult[]> {
  const root = await mkdtemp(join(tmpdir(), 'ingot-bench-tftp-'));
  await chmod(root, 0o755); // tftpd-hpa and atftpd drop privileges before reading
  const big = 64 * MIB;
  const storm20 = 20 * MIB;
  await writeFile(join(root, 'f64'), randomBytes(big));
  await writeFile(join(root, 'f20'), randomBytes(storm20));
  await writeFile(join(root, 'probe'), 'x');
  const servers: Server[] = [];
  const results: BenchResult[] = [];
  try {
    const ingotPort = await freePort();
    const script = join(import.meta.dirname, 'tftp-server.ts');
    servers.push(
      await startServer(
        'ingot',
        process.execPath,
        ['--import', 'tsx', script, root, String(ingotPort)],
        ingotPort,
      ),
    );
    if (await exists('/usr/sbin/in.tftpd')) {
      const port = await freePort();
      servers.push(
        await startServer(
          'tftpd-hpa',
          '/usr/sbin/in.tftpd',
          ['-L', '-a', `${HOST}:${port}`, '-s', root],
          port,
        ),
      );
    } else write('tftpd-hpa: not installed (apt-get install -y tftpd-hpa), skipped');
    const atftpd = await findAtftpd();
    if (atftpd !== undefined) {
      const port = await freePort();
      const log = join(root, 'atftpd.log');
      servers.push(
        await startServer(
          'atftpd',
          atftpd,
          [
            '--daemon',
            '--no-fork',
            '--port',
            String(port),
            '--bind-address',
            HOST,
            '--logfile',
            log,
            root,
          ],
          port,
        ),
      );
    } else write('atftpd: could not be found or unpacked, skipped');

    const out = join(root, 'out');
    const medians = new Map<string, number>();
    for (const [setting, options] of Object.entries(SETTINGS)) {
      const samples = new Map<string, number[]>(servers.map((s) => [s.name, []]));
      // Interleaved repetitions: a busy neighbour on the machine hurts every server alike.
      for (let rep = 0; rep < reps; rep++) {
        for (const server of servers)
          samples.get(server.name)?.push(await fetchOnce(server, 'f64', big, options, out));
      }
      for (const server of servers) {
        const values = samples.get(server.name) ?? [];
        medians.set(`${server.name} ${setting}`, median(values));
        results.push({
          name: `64 MiB ${setting}: ${server.name}`,
          figures: {
            'median MiB/s': median(values),
            'best MiB/s': Math.max(...values),
            failures: values.filter((v) => v === 0).length,
          },
        });
        write(report(results.slice(-1)));
      }
    }
    const ingotServer = servers[0];
    if (ingotServer !== undefined) {
      for (const clients of [50, 500]) {
        results.push(await storm(ingotServer, clients, 'f20', storm20));
        write(report(results.slice(-1)));
      }
    }
    const windowed = 'blksize 1468 windowsize 16';
    const ingot = medians.get(`ingot ${windowed}`) ?? 0;
    const peers = servers
      .filter((s) => s.name !== 'ingot')
      .map((s) => medians.get(`${s.name} ${windowed}`) ?? 0);
    const best = Math.max(0, ...peers);
    write(
      `tftp: ingot ${ingot.toFixed(1)} best-peer ${best.toFixed(1)} ratio ${(best > 0 ? ingot / best : 0).toFixed(2)}`,
    );
    return results;
  } finally {
    await Promise.all(servers.map(stopServer));
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reps = Number(process.argv[2] ?? 3);
  await benchTftp(Number.isInteger(reps) && reps > 0 ? reps : 3);
}
