/**
 * A throwaway PostgreSQL server for tests, from Debian's `postgresql` package: `initdb` into a
 * temporary directory, `pg_ctl start` on 127.0.0.1 with a free port, one fresh database per
 * `createDatabase()`, and `stop()` shuts that server down (by its own data directory and PID)
 * and removes the directory. One server per test file; databases are cheap, servers are not.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
 * `postgres` system user (`runuser -u postgres --`), which is given the temporary directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, parsePidFile } from '@ingot/common';

const run = promisify(execFile);

/** Where Debian installs the server binaries (`/usr/lib/postgresql/<major>/bin`). */
const DEBIAN_ROOT = '/usr/lib/postgresql';

/** The superuser `initdb` creates; trust authentication on loopback only. */
const SUPERUSER = 'ingot';

/** A running test server. */
export interface PostgresServer {
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** The postmaster's PID. */
  readonly pid: number;
  /** The connection URL of database `name` on this server. */
  url(name: string): string;
  /** Creates an empty database with a fresh name and returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Why no server could be started. */
export class PostgresUnavailable extends Error {}

/**
 * The directory holding `initdb`, `pg_ctl` and `postgres`: `INGOT_PG_BINDIR` if set, else the
 * newest major version under `/usr/lib/postgresql`. `undefined` when PostgreSQL is not installed.
 */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env['INGOT_PG_BINDIR'];
  if (fromEnv !== undefined && fromEnv !== '') {
    return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined;
  }
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const majors = readdirSync(DEBIAN_ROOT)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const dir = join(DEBIAN_ROOT, major, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

/**
 * Starts a server. Throws `PostgresUnavailable` when the binaries are missing, and a plain error
 * with the server log when it fails to start.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (bin === undefined) {
    const where = process.env['INGOT_PG_BINDIR'] ?? DEBIAN_ROOT;
    throw new PostgresUnavailable(
      `PostgreSQL server binaries (initdb, pg_ctl) not found in ${where}: install Debian's ` +
        'postgresql package, or point INGOT_PG_BINDIR at them',
    );
  }
  const asRoot = userInfo().uid === 0;
  // As root, run the server's tools as `postgres`; otherwise as ourselves.
  const tool = async (name: string, args: string[]): Promise<void> => {
    const file = join(bin, name);
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 60_000 });
    else await run(file, args, { timeout: 60_000 });
  };
  const dir = await mkdtemp(join(tmpdir(), 'ingot-pg-'));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  try {
    // The cluster's own locale is C; each test database gets a linguistic one (createDatabase).
    await tool(
      'initdb',
      ['-D', data, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8'].concat([
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ]),
    );
    let port = 0;
    // The port is free when picked; retry if someone takes it before the server binds it.
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const options = [
        `-p ${String(port)}`,
        '-c listen_addresses=127.0.0.1',
        `-c unix_socket_directories=${dir}`,
        // A test server: durability is not the point, speed is.
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      try {
        await tool('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '30', '-o', options]);
        break;
      } catch (e) {
        if (attempt >= 2) throw e;
      }
    }
    const pidText = await readFile(join(data, 'postmaster.pid'), 'utf8');
    const pid = parsePidFile(pidText);
    if (pid === undefined) throw new Error(`no PID in ${join(data, 'postmaster.pid')}`);
    return serverHandle(dir, data, port, pid, tool, bin);
  } catch (e) {
    const serverLog = await readFile(log, 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL failed to start: ${String(e)}\n${serverLog}`, { cause: e });
  }
}

function serverHandle(
  dir: string,
  data: string,
  port: number,
  pid: number,
  tool: (name: string, args: string[]) => Promise<void>,
  bin: string,
): PostgresServer {
  let databases = 0;
  let stopped = false;
  const url = (name: string): string => `postgres://${SUPERUSER}@127.0.0.1:${String(port)}/${name}`;
  return {
    port,
    pid,
    url,
    async createDatabase(): Promise<string> {
      databases += 1;
      const name = `ingot_${String(databases)}`;
      await run(
        join(bin, 'createdb'),
        ['-h', '127.0.0.1', '-p', String(port)].concat([
          '-U',
          SUPERUSER,
          '-T',
          'template0',
          // A linguistic default collation, as `createdb` gives on an en_US.UTF-8 system (ICU, so
          // no OS locale is needed): the store must sort text in byte order regardless.
          '--locale-provider=icu',
          '--icu-locale=en-US',
          name,
        ]),
        { timeout: 30_000 },
      );
      return url(name);
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      try {
        await tool('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
      } catch {
        // pg_ctl could not stop it: end the postmaster we started, by its PID.
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          // Already gone.
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
