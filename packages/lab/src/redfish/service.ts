/**
 * The lab's Redfish service: a small DMTF Redfish BMC in front of one or more
 * {@link RedfishMachine}s (an in-memory fake in unit tests, a QEMU VM over QMP in the lab).
 *
 * Resources: `/redfish`, `/redfish/v1`, `/redfish/v1/Systems`, `/redfish/v1/Systems/<id>`
 * (GET; PATCH of `Boot`), `/redfish/v1/Systems/<id>/Actions/ComputerSystem.Reset` (POST),
 * `/redfish/v1/SessionService`, `/redfish/v1/SessionService/Sessions[/<n>]` (POST to log in,
 * DELETE to log out). Auth: HTTP Basic or `X-Auth-Token`; the service root and session
 * creation are open, as the standard says. HTTPS with a self-signed certificate by default.
 */
import { randomBytes } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type BootOverride, type RedfishMachine, type RedfishResetType } from './machine.ts';
import { createSystemRoutes, type ServiceState } from './systems.ts';
import { createSelfSignedCert } from './tls.ts';
import { redfishError, type Reply } from './reply.ts';

export { type Reply } from './reply.ts';

/** Options of {@link startRedfishService}. */
export interface RedfishServiceOptions {
  /** Systems by id (`/redfish/v1/Systems/<id>`), in member order. */
  readonly systems: Readonly<Record<string, RedfishMachine>>;
  readonly username: string;
  readonly password: string;
  /** HTTPS with a fresh self-signed certificate (default), or plain HTTP when false. */
  readonly tls?: boolean;
  /** Extra subjectAltName entries for the certificate (`IP:172.31.0.1`). */
  readonly tlsAltNames?: readonly string[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
}

/** A state change the service accepted, for tests to assert on. */
export type RedfishServiceEvent =
  | { readonly kind: 'boot-override'; readonly systemId: string; readonly boot: BootSettings }
  | { readonly kind: 'reset'; readonly systemId: string; readonly resetType: RedfishResetType }
  | {
      readonly kind: 'boot-override-used';
      readonly systemId: string;
      readonly override: BootOverride;
    }
  | { readonly kind: 'session-created'; readonly sessionId: string }
  | { readonly kind: 'session-deleted'; readonly sessionId: string };

/** One request as the service saw it. */
export interface RedfishRequestRecord {
  readonly method: string;
  readonly path: string;
  /** How the request authenticated. */
  readonly auth: 'none' | 'basic' | 'token' | 'rejected';
  readonly status: number;
}

/** The `Boot` properties of one system. */
export interface BootSettings {
  readonly BootSourceOverrideEnabled: string;
  readonly BootSourceOverrideTarget: string;
  readonly BootSourceOverrideMode: string;
}

/** A running service. */
export interface RedfishService {
  /** `https://127.0.0.1:<port>` (no path). */
  readonly url: string;
  readonly port: number;
  /** PEM certificate when TLS is on. */
  readonly certificate: string | undefined;
  /** Path of that certificate (for `sushy`'s `verify=`); undefined without TLS. */
  readonly certificatePath: string | undefined;
  /** Accepted state changes, oldest first. */
  readonly events: readonly RedfishServiceEvent[];
  /** Every request, oldest first. */
  readonly requests: readonly RedfishRequestRecord[];
  /** Current `Boot` settings of a system. */
  boot(systemId: string): BootSettings;
  /** Ids of open sessions. */
  sessionIds(): string[];
  /** Forgets every session, as a BMC does on session timeout or reboot. */
  expireSessions(): void;
  /** Stops listening, closes connections, removes the certificate. */
  close(): Promise<void>;
}

/**
 * Starts the service.
 *
 * @throws when the port is taken or openssl fails.
 */
export async function startRedfishService(options: RedfishServiceOptions): Promise<RedfishService> {
  const tls = options.tls ?? true;
  const cert = tls ? await createSelfSignedCert(options.tlsAltNames) : undefined;
  const events: RedfishServiceEvent[] = [];
  const requests: RedfishRequestRecord[] = [];
  const sessions = new Map<string, string>(); // token → session id
  let nextSessionId = 1;
  const state: ServiceState = {
    systems: options.systems,
    boot: new Map(
      Object.keys(options.systems).map((id) => [
        id,
        {
          BootSourceOverrideEnabled: 'Disabled',
          BootSourceOverrideTarget: 'None',
          BootSourceOverrideMode: 'Legacy',
        },
      ]),
    ),
    events,
  };
  const systemRoutes = createSystemRoutes(state);

  const authenticate = (req: IncomingMessage): RedfishRequestRecord['auth'] => {
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string') return sessions.has(token) ? 'token' : 'rejected';
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+(\S+)$/i.exec(header);
    if (match === null) return header === '' ? 'none' : 'rejected';
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    return decoded === `${options.username}:${options.password}` ? 'basic' : 'rejected';
  };

  const sessionRoutes = (method: string, path: string): Reply | undefined => {
    const base = '/redfish/v1/SessionService';
    if (path === base && method === 'GET') {
      return {
        status: 200,
        body: {
          '@odata.id': base,
          '@odata.type': '#SessionService.v1_1_8.SessionService',
          Id: 'SessionService',
          Name: 'Session Service',
          ServiceEnabled: true,
          SessionTimeout: 1800,
          Sessions: { '@odata.id': `${base}/Sessions` },
        },
      };
    }
    if (path === `${base}/Sessions` && method === 'GET') {
      return {
        status: 200,
        body: {
          '@odata.id': `${base}/Sessions`,
          '@odata.type': '#SessionCollection.SessionCollection',
          Name: 'Session Collection',
          'Members@odata.count': sessions.size,
          Members: [...sessions.values()].map((id) => ({ '@odata.id': `${base}/Sessions/${id}` })),
        },
      };
    }
    const one = /^\/redfish\/v1\/SessionService\/Sessions\/([^/]+)$/.exec(path);
    if (one !== null && method === 'DELETE') {
      const id = one[1]!;
      for (const [token, sessionId] of sessions) {
        if (sessionId === id) {
          sessions.delete(token);
          events.push({ kind: 'session-deleted', sessionId: id });
          return { status: 204 };
        }
      }
      return redfishError(404, 'ResourceMissingAtURI', `no session ${id}`);
    }
    return undefined;
  };

  const login = (body: unknown): Reply => {
    const field = (name: string): unknown =>
      typeof body === 'object' && body !== null ? Reflect.get(body, name) : undefined;
    const user = field('UserName');
    const pass = field('Password');
    if (user !== options.username || pass !== options.password) {
      return redfishError(401, 'InsufficientPrivilege', 'invalid user name or password');
    }
    const token = randomBytes(16).toString('hex');
    const id = String(nextSessionId++);
    sessions.set(token, id);
    events.push({ kind: 'session-created', sessionId: id });
    const location = `/redfish/v1/SessionService/Sessions/${id}`;
    return {
      status: 201,
      headers: { 'X-Auth-Token': token, Location: location },
      body: {
        '@odata.id': location,
        '@odata.type': '#Session.v1_3_0.Session',
        Id: id,
        Name: 'User Session',
        UserName: options.username,
      },
    };
  };

  const route = async (
    req: IncomingMessage,
    body: unknown,
  ): Promise<[Reply, RedfishRequestRecord['auth']]> => {
    const method = req.method ?? 'GET';
    const rawPath = new URL(req.url ?? '/', 'http://x').pathname;
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
    if (path === '/redfish' && method === 'GET') {
      return [{ status: 200, body: { v1: '/redfish/v1/' } }, 'none'];
    }
    if (path === '/redfish/v1' && method === 'GET') return [serviceRoot(), 'none'];
    if (path === '/redfish/v1/SessionService/Sessions' && method === 'POST') {
      return [login(body), 'none'];
    }
    const auth = authenticate(req);
    if (auth === 'none' || auth === 'rejected') {
      const reply = redfishError(401, 'NoValidSession', 'authentication required');
      return [{ ...reply, headers: { 'WWW-Authenticate': 'Basic realm="ingot-lab"' } }, auth];
    }
    const reply =
      sessionRoutes(method, path) ??
      (await systemRoutes(method, path, body)) ??
      redfishError(404, 'ResourceMissingAtURI', `no resource ${method} ${path}`);
    return [reply, auth];
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let reply: Reply;
        let auth: RedfishRequestRecord['auth'] = 'none';
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text === '' ? undefined : JSON.parse(text);
          [reply, auth] = await route(req, body);
        } catch (error: unknown) {
          reply =
            error instanceof SyntaxError
              ? redfishError(400, 'MalformedJSON', 'request body is not JSON')
              : redfishError(
                  500,
                  'InternalError',
                  error instanceof Error ? error.message : 'error',
                );
        }
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        requests.push({ method: req.method ?? 'GET', path, auth, status: reply.status });
        const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          ...(payload === '' ? {} : { 'Content-Type': 'application/json' }),
          'OData-Version': '4.0',
          ...reply.headers,
        });
        res.end(payload);
      })();
    });
  };

  const server: Server =
    cert === undefined
      ? createHttpServer(handler)
      : createHttpsServer({ cert: cert.cert, key: cert.key }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';

  return {
    url: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    certificate: cert?.cert,
    certificatePath: cert?.certPath,
    events,
    requests,
    boot: (systemId) => {
      const boot = state.boot.get(systemId);
      if (boot === undefined) throw new Error(`no system ${systemId}`);
      return { ...boot };
    },
    sessionIds: () => [...sessions.values()],
    expireSessions: () => sessions.clear(),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      cert?.remove();
    },
  };
}

function serviceRoot(): Reply {
  return {
    status: 200,
    body: {
      '@odata.id': '/redfish/v1',
      '@odata.type': '#ServiceRoot.v1_11_0.ServiceRoot',
      Id: 'RootService',
      Name: 'Ingot lab Redfish service',
      RedfishVersion: '1.11.0',
      Vendor: 'Ingot',
      Product: 'Ingot lab BMC',
      UUID: '6f6e1c2e-0000-4000-8000-1a6e00000001',
      Systems: { '@odata.id': '/redfish/v1/Systems' },
      SessionService: { '@odata.id': '/redfish/v1/SessionService' },
      Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } },
    },
  };
}
