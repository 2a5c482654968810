/**
 * `pnpm bench:http`: HTTP boot throughput of the rack agent against nginx (Debian's `nginx`,
 * started here on a loopback port with a temporary config and stopped by PID). Both serve the
 * same 1 GiB sparse file to `curl` clients: one client downloading it whole, then 100
 * concurrent clients downloading it for a fixed window (bounded run time: 100 × 1 GiB would
 * take minutes), aggregate MiB/s. The last line is `http: ratio <ours / nginx at 100 clients>`.
 *
 * nginx runs one worker with `sendfile on`: one process, like the agent's one event loop.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, silentLogger } from '@ingot/common';
// The bench drives the agent's HTTP boot adapter directly, without enrolment or a controller;
// these modules are not (yet) on `@ingot/rack-agent`'s public surface.
import {
  createBootResolver,
  createHttpApp,
  createHttpBootApi,
  ignoreBootFetches,
  startHttpServer,
} from '@ingot/rack-agent';
import type { BenchResult } from './stats.ts';

const MIB = 1024 * 1024;

/** Knobs; the defaults are what `pnpm bench:http` runs. */
export interface HttpBenchOptions {
  readonly fileBytes?: number;
  readonly clients?: number;
  /** How long the concurrent clients download. */
  readonly windowSeconds?: number;
  /** Alternating rounds at full concurrency; each server's best round counts. */
  readonly rounds?: number;
}

/** Figures per server plus the ratio at the highest concurrency. */
export interface HttpBenchResult {
  readonly results: readonly BenchResult[];
  readonly ratio: number;
}

/** Runs the benchmark and prints one line per measurement plus the `http: ratio` line. */
export async function benchHttp(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const fileBytes = options.fileBytes ?? 1024 * MIB;
  const clients = options.clients ?? 100;
  const windowSeconds = options.windowSeconds ?? 10;
  const rounds = options.rounds ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'ingot-bench-http-'));
  // nginx workers run as `nobody` when started by root: let them read the files.
  chmodSync(dir, 0o755);
  const sha = 'f'.repeat(64);
  mkdirSync(join(dir, 'images'));
  const fd = openSync(join(dir, 'images', sha), 'w');
  ftruncateSync(fd, fileBytes); // sparse: no disk, and the page cache is not what we measure
  closeSync(fd);
  const path = `/images/${sha}`;

  const resolver = createBootResolver({
    store: { bootPlanByMac: () => undefined },
    logger: silentLogger,
    config: { imageDir: join(dir, 'images'), loaderDirs: [] },
  });
  const app = createHttpApp(silentLogger);
  app.route('/', createHttpBootApi({ resolver, onFetch: ignoreBootFetches, logger: silentLogger }));
  const ours = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  const nginx = await startNginx(dir);
  const servers = [
    { name: 'ingot', url: `http://127.0.0.1:${ours.address.port}${path}` },
    { name: 'nginx', url: `http://127.0.0.1:${nginx.port}${path}` },
  ];
  const results: BenchResult[] = [];
  const perClient: Record<string, number> = {};
  try {
    // Reading a sparse file's holes fills the page cache once; whoever went first would pay it.
    for (const server of servers) await download(server.url, 1, 0);
    for (const server of servers) {
      const single = await download(server.url, 1, 0);
      if (single.bytes !== fileBytes) throw new Error(`${server.name}: short download`);
      results.push({
        name: `http ${server.name} 1 client`,
        figures: { 'MiB/s': single.mibPerSecond },
      });
      line(`http ${server.name}: 1 client ${single.mibPerSecond.toFixed(0)} MiB/s`);
    }
    // Alternate the servers and keep each one's best round: the host may be busy with others.
    for (let round = 0; round < rounds; round++) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const many = await download(server.url, clients, windowSeconds);
        perClient[server.name] = Math.max(perClient[server.name] ?? 0, many.mibPerSecond);
        results.push({
          name: `http ${server.name} ${clients} clients round ${round + 1}`,
          figures: { 'MiB/s': many.mibPerSecond, 'failed clients': many.failed },
        });
        line(
          `http ${server.name}: ${clients} clients ${many.mibPerSecond.toFixed(0)} MiB/s aggregate` +
            ` (round ${round + 1}, ${windowSeconds} s window, ${many.failed} failed)`,
        );
      }
    }
  } finally {
    await ours.close();
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const ratio = (perClient.ingot ?? 0) / (perClient.nginx ?? Number.NaN);
  line(
    `http: best of ${rounds} at ${clients} clients: ingot ${(perClient.ingot ?? 0).toFixed(0)} MiB/s,` +
      ` nginx ${(perClient.nginx ?? 0).toFixed(0)} MiB/s`,
  );
  line(`http: ratio ${ratio.toFixed(2)}`);
  return { results, ratio };
}

/**
 * `clients` concurrent curl processes. `windowSeconds` 0: each downloads the whole file and the
 * rate is bytes over wall time; otherwise each is cut off after the window (curl exit 28 is the
 * expected outcome then) and the aggregate is bytes over the window.
 */
async function download(
  url: string,
  clients: number,
  windowSeconds: number,
): Promise<{ bytes: number; mibPerSecond: number; failed: number }> {
  const args = ['-s', '-o', '/dev/null', '-w', '%{size_download}', url];
  if (windowSeconds > 0) args.unshift('--max-time', String(windowSeconds));
  const start = performance.now();
  const outcomes = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<{ bytes: number; ok: boolean }>((resolve) => {
          execFile('curl', args, { encoding: 'utf8' }, (error, stdout) => {
            const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
            resolve({
              bytes: Number(stdout) || 0,
              ok: code === 0 || (windowSeconds > 0 && code === 28),
            });
          });
        }),
    ),
  );
  const seconds = windowSeconds > 0 ? windowSeconds : (performance.now() - start) / 1000;
  const bytes = outcomes.reduce((sum, o) => sum + o.bytes, 0);
  return {
    bytes,
    mibPerSecond: bytes / MIB / seconds,
    failed: outcomes.filter((o) => !o.ok).length,
  };
}

/** Starts nginx in the foreground on a free loopback port, serving `root`. */
async function startNginx(root: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const prefix = join(root, 'nginx');
  mkdirSync(prefix);
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'worker_processes 1;',
      'daemon off;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'error.log')};`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      '  sendfile on;',
      '  tcp_nopush on;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (t) => `  ${t}_temp_path ${join(prefix, t)};`,
      ),
      `  server { listen 127.0.0.1:${port}; root ${root}; }`,
      '}',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('nginx', ['-c', conf, '-p', prefix], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('nginx did not start (is Debian nginx installed?)');
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      process.kill(pid, 'SIGKILL');
      throw new Error(`nginx did not listen on ${port}; see ${join(prefix, 'error.log')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
      await exited;
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchHttp();
}
