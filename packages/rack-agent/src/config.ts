import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { err, ok, LOG_LEVELS, splitAddressList, type LogLevel, type Result } from '@ingot/common';

/** The agent's software version, reported in Register, Hello and logs. */
export const AGENT_VERSION = '0.1.0';

/** Default machine-facing HTTP port (DESIGN.md §1: HTTP boot 5248). */
export const DEFAULT_HTTP_PORT = 5248;

/** Default controller gRPC port (DESIGN.md §1), used when an address has no port. */
export const DEFAULT_CONTROLLER_PORT = 5250;

/** Default image cache budget: 20 GiB, a few releases' kernels, initrds and root images. */
export const DEFAULT_IMAGE_CACHE_BYTES = 20 * 1024 ** 3;

/** A host and TCP port to listen on or connect to. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Everything the rack agent needs to run. Only the CLI (composition root) builds it, from flags
 * and environment; the agent itself never reads `process.env` (STYLE.md §4.2).
 */
export interface AgentConfig {
  /**
   * Controller gRPC addresses as `host:port`, tried in order: each reconnect moves to the next
   * one, so a rack fails over between controllers that share one database (DESIGN.md §10).
   */
  readonly controllers: readonly string[];
  /** One-time enrollment token; needed only until the agent holds an identity. */
  readonly enrollmentToken?: string | undefined;
  /** Directory for durable state (`agent.db`); created with mode 0700 if missing. */
  readonly dataDir: string;
  /** Network interfaces the agent serves, by name (e.g. `eth1`). */
  readonly interfaces: readonly string[];
  /** Machine-facing HTTP server address. */
  readonly http: HostPort;
  /** Session reconnect backoff: exponential from `initialMs`, capped at `maxMs`, with jitter. */
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  /** Host name shown to operators. */
  readonly hostname: string;
  /** Agent software version. */
  readonly version: string;
  /** Lowest log level written. */
  readonly logLevel: LogLevel;
  /**
   * Base URLs of the controllers' HTTP API, where machines' metadata requests are proxied
   * (`/MAAS/metadata/*`) and image files are fetched. Default: port 5240 on each controller's
   * host. When there is one per controller, the one paired with the controller holding the
   * session is tried first; the others follow in order when it does not answer.
   */
  readonly controllerHttpUrls: readonly string[];
  /**
   * Talk to controllers in plaintext, without certificates (development and tests only). By
   * default the agent uses mutual TLS: it enrolls with a token carrying the CA pin and keeps
   * its key and certificate in `DATA/tls/`.
   */
  readonly insecureGrpc: boolean;
  /** Where cached images live (`<sha256>` files). Default: `DATA/images`. */
  readonly imageDir: string;
  /**
   * Bytes of image files the cache keeps; least recently used files beyond it are evicted,
   * except those a boot plan uses. Default {@link DEFAULT_IMAGE_CACHE_BYTES}.
   */
  readonly imageCacheBytes: number;
  /** How often the power state of machines with a BMC is polled. */
  readonly powerPollIntervalMs: number;
  /** TFTP listening address; undefined turns TFTP off. */
  readonly tftp?: HostPort | undefined;
  /**
   * DHCP server port (67) on `interfaces` (all, when none is named); undefined turns DHCP off.
   * proxyDHCP also answers on `proxyPort` (4011).
   */
  readonly dhcp?: { readonly port: number; readonly proxyPort?: number | undefined } | undefined;
}

/** What the CLI must supply; everything else has a default (see {@link defaultAgentConfig}). */
export type AgentConfigInput = Pick<AgentConfig, 'controllers' | 'dataDir'> &
  Partial<Omit<AgentConfig, 'controllers' | 'dataDir' | 'reconnect' | 'http'>> & {
    readonly http?: Partial<HostPort>;
    readonly reconnect?: Partial<AgentConfig['reconnect']>;
    /** One controller HTTP URL (the older single-controller form of `controllerHttpUrls`). */
    readonly controllerHttpUrl?: string | undefined;
  };

/**
 * Fills in defaults: HTTP on 0.0.0.0:5248, reconnect 200 ms → 5 s, the OS host name, this
 * package's version, log level `info`, no interfaces. It does not validate; call
 * {@link validateAgentConfig} (startAgent does).
 */
export function defaultAgentConfig(input: AgentConfigInput): AgentConfig {
  return {
    controllers: input.controllers,
    enrollmentToken: input.enrollmentToken,
    dataDir: input.dataDir,
    interfaces: input.interfaces ?? [],
    http: { host: input.http?.host ?? '0.0.0.0', port: input.http?.port ?? DEFAULT_HTTP_PORT },
    reconnect: {
      initialMs: input.reconnect?.initialMs ?? 200,
      maxMs: input.reconnect?.maxMs ?? 5000,
    },
    hostname: input.hostname ?? osHostname(),
    version: input.version ?? AGENT_VERSION,
    logLevel: input.logLevel ?? 'info',
    controllerHttpUrls:
      input.controllerHttpUrls ??
      (input.controllerHttpUrl === undefined
        ? input.controllers.map(defaultControllerHttpUrl)
        : [input.controllerHttpUrl]),
    insecureGrpc: input.insecureGrpc ?? false,
    imageDir: input.imageDir ?? join(input.dataDir, 'images'),
    imageCacheBytes: input.imageCacheBytes ?? DEFAULT_IMAGE_CACHE_BYTES,
    tftp: input.tftp,
    dhcp: input.dhcp,
    powerPollIntervalMs: input.powerPollIntervalMs ?? 30_000,
  };
}

/** Controller addresses from `--controller a:5250,b:5250` and repeated flags (in `@ingot/common`). */
export { splitAddressList };

/**
 * The controller HTTP URLs in the order to try them: the one paired with `connected` (a gRPC
 * address from `controllers`) first when there is one URL per controller, then the rest.
 */
export function orderedHttpUrls(
  config: Pick<AgentConfig, 'controllers' | 'controllerHttpUrls'>,
  connected: string | undefined,
): string[] {
  const urls = [...config.controllerHttpUrls];
  const index = connected === undefined ? -1 : config.controllers.indexOf(connected);
  if (index < 0 || urls.length !== config.controllers.length) return urls;
  return [...urls.slice(index), ...urls.slice(0, index)];
}

function defaultControllerHttpUrl(grpcAddress: string | undefined): string {
  const parsed = grpcAddress === undefined ? undefined : parseHostPort(grpcAddress);
  const host = parsed?.ok === true ? parsed.value.host : '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:5240`;
}

/** Why a configuration was refused; `field` names the offending setting. */
export interface ConfigError {
  readonly kind: 'invalid-config';
  readonly field: string;
  readonly message: string;
}

/**
 * Checks the invariants the rest of the agent relies on (at least one controller, valid
 * host:port values, sane backoff). Returns the config unchanged when valid.
 */
export function validateAgentConfig(config: AgentConfig): Result<AgentConfig, ConfigError> {
  const invalid = (field: string, message: string): Result<AgentConfig, ConfigError> =>
    err({ kind: 'invalid-config', field, message });
  if (config.controllers.length === 0) {
    return invalid('controllers', 'at least one controller address (HOST:PORT) is required');
  }
  for (const address of config.controllers) {
    const parsed = parseHostPort(address);
    if (!parsed.ok) return invalid('controllers', parsed.error.message);
  }
  if (config.controllerHttpUrls.length === 0) {
    return invalid('controllerHttpUrls', 'at least one controller HTTP URL is required');
  }
  for (const url of config.controllerHttpUrls) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      return invalid('controllerHttpUrls', `expected an http(s) URL, got "${url}"`);
    }
  }
  if (config.dataDir.trim() === '') return invalid('dataDir', 'a data directory is required');
  if (!isPort(config.http.port)) {
    return invalid('http', `port must be an integer in 0..65535, got ${config.http.port}`);
  }
  if (config.http.host === '') return invalid('http', 'host must not be empty');
  const { initialMs, maxMs } = config.reconnect;
  if (!(
    Number.isFinite(initialMs) &&
    initialMs > 0 &&
    Number.isFinite(maxMs) &&
    maxMs >= initialMs
  )) {
    return invalid('reconnect', 'need 0 < initialMs <= maxMs');
  }
  if (!Number.isSafeInteger(config.imageCacheBytes) || config.imageCacheBytes <= 0) {
    return invalid('imageCacheBytes', 'must be a whole number of bytes above 0');
  }
  if (config.enrollmentToken === '') return invalid('enrollmentToken', 'token must not be empty');
  if (!LOG_LEVELS.includes(config.logLevel)) {
    return invalid('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return ok(config);
}

/**
 * Parses `HOST:PORT` (IPv6 as `[::1]:PORT`). When the port is missing, `defaultPort` is used if
 * given; otherwise it is an error. For the CLI's `--http` and `--controller` flags.
 */
export function parseHostPort(text: string, defaultPort?: number): Result<HostPort, ConfigError> {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const portText = match?.[3];
  const port = portText === undefined ? defaultPort : Number(portText);
  if (host === undefined || port === undefined || !isPort(port)) {
    return err({
      kind: 'invalid-config',
      field: 'address',
      message: `expected HOST:PORT, got "${text}"`,
    });
  }
  return ok({ host, port });
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}
