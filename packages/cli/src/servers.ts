/**
 * `ingot controller`, `ingot agent` and `ingot up` (a controller and one local rack agent in one
 * process: the zero-setup main job).
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import {
  createJsonLogger,
  LOG_LEVELS,
  splitAddressList,
  type LogLevel,
  type Logger,
} from '@ingot/common';
// The controller and the agent are imported when their command runs, not here: an agent process
// that also loaded the controller (Hono, Kysely, pg, its gRPC server) started 58 MB heavier.
import type { ControllerConfig } from '@ingot/controller';
import { byteSize, duration, hostPort, parse, UsageError, withEnvFlags } from './args.ts';
import { call } from './client.ts';

function logLevel(value: string | undefined): LogLevel {
  const level = value ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return level as LogLevel;
}

function stderrLogger(level: LogLevel): Logger {
  return createJsonLogger((line) => process.stderr.write(line), level);
}

/** Resolves when SIGINT or SIGTERM arrives. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

/** Flags of `ingot controller` (also read by shell completion). */
export const controllerFlags = {
  data: { type: 'string' },
  http: { type: 'string' },
  grpc: { type: 'string' },
  db: { type: 'string' },
  database: { type: 'string' },
  'commission-timeout': { type: 'string' },
  'deploy-timeout': { type: 'string' },
  'release-timeout': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'insecure-grpc': { type: 'boolean' },
  advertise: { type: 'string', multiple: true },
  name: { type: 'string' },
  'session-lease': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

function controllerConfig(
  values: ReturnType<typeof parse<typeof controllerFlags>>['values'],
): ControllerConfig {
  if (values.data === undefined) throw new UsageError('--data DIR is required');
  if (values.database !== undefined && values.db !== undefined && values.database !== values.db)
    throw new UsageError('--db and --database name the same setting: give one');
  const opt = (v: string | undefined): number | undefined =>
    v === undefined ? undefined : duration(v);
  return {
    dataDir: resolve(values.data),
    http: hostPort(values.http ?? '0.0.0.0:5240', '0.0.0.0'),
    grpc: hostPort(values.grpc ?? '0.0.0.0:5250', '0.0.0.0'),
    // `--database` is `--db` by another name (INGOT_DATABASE or INGOT_DB in the environment).
    db: values.database ?? values.db,
    timeouts: {
      ...(values['commission-timeout'] === undefined
        ? {}
        : { commissioningMs: opt(values['commission-timeout']) }),
      ...(values['deploy-timeout'] === undefined
        ? {}
        : { deployingMs: opt(values['deploy-timeout']) }),
      ...(values['release-timeout'] === undefined
        ? {}
        : { releasingMs: opt(values['release-timeout']) }),
    },
    heartbeatIntervalMs: opt(values['heartbeat-interval']),
    // Mutual TLS on the rack port unless --insecure-grpc; --advertise adds certificate names.
    insecureGrpc: values['insecure-grpc'] === true,
    advertise: splitAddressList(values.advertise ?? []),
    // Several controllers on one PostgreSQL: this one's name, and how long a rack's session
    // lease lasts without renewal (docs/operating.md, "Several controllers").
    name: values.name,
    sessionLeaseMs: opt(values['session-lease']),
  };
}

/**
 * `ingot controller --data DIR [--http HOST:PORT] [--grpc HOST:PORT]
 * [--db sqlite:FILE|postgres://USER@HOST:PORT/DB]` (`--database` is the same); a flag not given
 * falls back to its `INGOT_<FLAG>` environment variable (systemd `EnvironmentFile=`).
 */
export async function runController(argv: string[]): Promise<number> {
  // --db and --database are one setting: either on the command line beats both variables.
  const given = (flag: string): boolean =>
    argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
  const env =
    given('db') || given('database')
      ? { ...process.env, INGOT_DB: undefined, INGOT_DATABASE: undefined }
      : process.env;
  const { values } = parse(withEnvFlags(argv, controllerFlags, env), controllerFlags);
  const logger = stderrLogger(logLevel(values['log-level']));
  const { startController } = await import('@ingot/controller');
  const handle = await startController(controllerConfig(values), logger);
  process.stdout.write(
    `Ingot controller listening on ${handle.httpUrl} (gRPC for racks on ${handle.grpcAddress})\n` +
      (handle.createdAdmin
        ? `Admin API key written to ${handle.adminKeyFile}\n`
        : existsSync(handle.adminKeyFile)
          ? `Admin API key: ${handle.adminKeyFile}\n`
          : // Another controller on this database made the admin (docs/operating.md).
            `The admin user already exists (made by another controller on this database): no ` +
            `admin key here. Copy admin.key from that controller's data directory to ` +
            `${handle.adminKeyFile}, or mint a key with \`ingot users api-key\` using an admin key.\n`),
  );
  const signal = await untilSignal();
  logger.info('shutting down', { signal });
  await handle.close();
  return 0;
}

/** Flags of `ingot agent`. */
export const agentFlags = {
  controller: { type: 'string', multiple: true },
  'enroll-token': { type: 'string' },
  data: { type: 'string' },
  interface: { type: 'string', multiple: true },
  http: { type: 'string' },
  tftp: { type: 'string' },
  dhcp: { type: 'string' },
  'power-poll': { type: 'string' },
  'controller-http': { type: 'string' },
  'image-cache-size': { type: 'string' },
  'log-level': { type: 'string' },
  'insecure-grpc': { type: 'boolean' },
} as const;

/** `--tftp HOST:PORT` or `off`. */
function tftpListen(
  value: string | undefined,
  fallback: string,
): { host: string; port: number } | undefined {
  const v = value ?? fallback;
  return v === 'off' ? undefined : hostPort(v, '0.0.0.0');
}

/** `--dhcp PORT` or `off`; proxyDHCP answers on 4011 beside the standard port 67. */
function dhcpListen(
  value: string | undefined,
  fallback: string,
): { port: number; proxyPort?: number } | undefined {
  const v = value ?? fallback;
  if (v === 'off') return undefined;
  const port = Number(v);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--dhcp takes a port or off, got ${JSON.stringify(v)}`);
  return port === 67 ? { port, proxyPort: 4011 } : { port };
}

/**
 * `ingot agent --controller HOST:PORT --enroll-token T --data DIR [--interface IF …] [--http HOST:PORT]`;
 * a flag not given falls back to its `INGOT_<FLAG>` environment variable.
 */
export async function runAgent(argv: string[]): Promise<number> {
  const { values } = parse(withEnvFlags(argv, agentFlags, process.env), agentFlags);
  if (values.data === undefined) throw new UsageError('--data DIR is required');
  // `--controller a:5250,b:5250` and repeated flags (INGOT_CONTROLLER=a:5250,b:5250) both work.
  const controllers = splitAddressList(values.controller ?? []);
  if (controllers.length === 0)
    throw new UsageError('--controller HOST:PORT is required (repeat it to list several)');
  for (const c of controllers) hostPort(c, '127.0.0.1');
  const logger = stderrLogger(logLevel(values['log-level']));
  const { defaultAgentConfig, startAgent } = await import('@ingot/rack-agent');
  const agent = await startAgent(
    defaultAgentConfig({
      controllers,
      enrollmentToken: values['enroll-token'],
      dataDir: resolve(values.data),
      interfaces: values.interface ?? [],
      http: hostPort(values.http ?? '0.0.0.0:5248', '0.0.0.0'),
      tftp: tftpListen(values.tftp, '0.0.0.0:69'),
      dhcp: dhcpListen(values.dhcp, '67'),
      powerPollIntervalMs: duration(values['power-poll'] ?? '30s'),
      controllerHttpUrls:
        values['controller-http'] === undefined
          ? undefined
          : splitAddressList([values['controller-http']]),
      insecureGrpc: values['insecure-grpc'] === true,
      imageCacheBytes:
        values['image-cache-size'] === undefined ? undefined : byteSize(values['image-cache-size']),
      hostname: hostname(),
      logLevel: logLevel(values['log-level']),
    }),
    { logger },
  );
  process.stdout.write(
    `Ingot rack agent running; machine-facing HTTP on ${agent.httpAddress.host}:${agent.httpAddress.port}\n`,
  );
  const signal = await untilSignal();
  logger.info('shutting down', { signal });
  await agent.close();
  return 0;
}

/** Flags of `ingot up`. */
export const upFlags = {
  data: { type: 'string' },
  http: { type: 'string' },
  grpc: { type: 'string' },
  'agent-http': { type: 'string' },
  tftp: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

/**
 * `ingot up [--data DIR]`: the main job on one machine. Starts a controller on SQLite in DIR and a
 * rack agent enrolled with it (enrollment happens once; later starts reuse the identity).
 */
export async function runUp(argv: string[]): Promise<number> {
  const { values } = parse(argv, upFlags);
  const dataDir = resolve(values.data ?? '.data');
  const level = logLevel(values['log-level'] ?? 'warn');
  const logger = stderrLogger(level);
  const [{ startController }, { defaultAgentConfig, startAgent }] = await Promise.all([
    import('@ingot/controller'),
    import('@ingot/rack-agent'),
  ]);
  const controller = await startController(
    controllerConfig({
      data: join(dataDir, 'controller'),
      http: values.http ?? '127.0.0.1:5240',
      grpc: values.grpc ?? '127.0.0.1:5250',
    }),
    logger.child({ process: 'controller' }),
  );
  const agentDir = join(dataDir, 'agent');
  let enrollmentToken: string | undefined;
  if (!existsSync(join(agentDir, 'agent.db'))) {
    const key = readFileSync(controller.adminKeyFile, 'utf8').trim();
    const created = (await call(
      { url: controller.httpUrl, key },
      'POST',
      '/api/v1/racks/enroll-tokens',
    )) as { token: string };
    enrollmentToken = created.token;
  }
  const agent = await startAgent(
    defaultAgentConfig({
      controllers: [controller.grpcAddress.replace(/^0\.0\.0\.0:/, '127.0.0.1:')],
      enrollmentToken,
      dataDir: agentDir,
      interfaces: [],
      http: hostPort(values['agent-http'] ?? '127.0.0.1:5248', '127.0.0.1'),
      tftp: tftpListen(values.tftp, 'off'),
      controllerHttpUrl: controller.httpUrl,
      hostname: hostname(),
      logLevel: level,
    }),
    { logger: logger.child({ process: 'agent' }) },
  );
  process.stdout.write(
    [
      `Ingot is up.`,
      `  Controller:  ${controller.httpUrl}  (API ${controller.httpUrl}/api/v1, OpenAPI ${controller.httpUrl}/api/v1/openapi.json)`,
      `  Admin key:   ${controller.adminKeyFile}`,
      `  Rack agent:  enrolled, machine-facing HTTP on ${agent.httpAddress.host}:${agent.httpAddress.port}`,
      `  Try:         export INGOT_URL=${controller.httpUrl} INGOT_API_KEY=$(cat ${controller.adminKeyFile})`,
      `               pnpm ingot racks list`,
      `  Web UI:      ${controller.httpUrl}/  (sign in as admin after setting a password:`,
      `               INGOT_URL=${controller.httpUrl} INGOT_API_KEY=$(cat ${controller.adminKeyFile}) pnpm ingot users set-password admin)`,
      `Press Ctrl-C to stop.`,
      '',
    ].join('\n'),
  );
  await untilSignal();
  await agent.close();
  await controller.close();
  return 0;
}
