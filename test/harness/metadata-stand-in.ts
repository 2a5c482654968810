/**
 * Stand-in for a rack agent's HTTP boot server plus the controller's metadata service, exactly as
 * packages/controller/docs/deploy-contract.md describes them, for the installer's VM test: it
 * serves `images/<sha256>`, `/MAAS/metadata/…` (meta-data, user-data, install-config) and
 * records `status/<id>` and `commissioning` posts. Every metadata request but the version list
 * must carry a valid OAuth 1.0 PLAINTEXT header for its machine's token.
 *
 * Runs inside the lab namespace (`ip netns exec`), so it is a script of its own. Its state (files
 * by sha256, machines by id) is a JSON file it re-reads on each request, so the test can change a
 * machine's install config between boots. It reports as JSON lines on stdout:
 * `{"type":"listening"}`, `{"type":"request",method,path,status,bytes}`,
 * `{"type":"status",machine,body}`, `{"type":"commissioning",machine,body}`,
 * `{"type":"auth-failed",path,reason}`, `{"type":"refused",method,path}` (a cut connection).
 *
 * Usage: node --import tsx metadata-stand-in.ts --state FILE --address 172.31.0.1 --port 5248
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

/** One machine the stand-in knows. */
export interface StandInMachine {
  /** `<consumer_key>:<token_key>:<token_secret>`. */
  readonly token: string;
  readonly hostname: string;
  /** The install config minus `cloud_init` (filled in from the request's Host, as the contract says). */
  readonly installConfig: Record<string, unknown>;
  readonly userData: string;
  readonly publicKeys: readonly string[];
}

/** The state file. */
export interface StandInState {
  /** sha256 → absolute path. */
  readonly files: Readonly<Record<string, string>>;
  readonly machines: Readonly<Record<string, StandInMachine>>;
  /**
   * Path → how many requests to it the stand-in cuts (closes the connection unanswered, as a rack
   * agent killed mid-request) before it serves one; counted from the stand-in's start.
   */
  readonly refuseFirst?: Readonly<Record<string, number>>;
}

const { values } = parseArgs({
  options: {
    state: { type: 'string' },
    address: { type: 'string', default: '172.31.0.1' },
    port: { type: 'string', default: '5248' },
  },
});
const statePath = values.state;
if (statePath === undefined) throw new Error('--state is required');
const readState = (): StandInState => JSON.parse(readFileSync(statePath, 'utf8')) as StandInState;

const emit = (record: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...record, atMs: Date.now() })}\n`);
};

/** Parses `OAuth k="v", …` (values percent-decoded) or returns why not. */
function parseOAuth(header: string | undefined): Map<string, string> | string {
  if (header === undefined) return 'no Authorization header';
  if (!header.startsWith('OAuth ')) return 'not an OAuth header';
  const params = new Map<string, string>();
  for (const part of header.slice(6).split(',')) {
    const m = /^\s*([a-z_]+)="([^"]*)"\s*$/.exec(part);
    if (m?.[1] === undefined || m[2] === undefined) return `malformed parameter ${part}`;
    params.set(m[1], decodeURIComponent(m[2]));
  }
  return params;
}

/** The machine whose token signed the request, or why none did. */
function authenticate(
  req: IncomingMessage,
  state: StandInState,
): [string, StandInMachine] | string {
  const params = parseOAuth(req.headers.authorization);
  if (typeof params === 'string') return params;
  if (params.get('oauth_signature_method') !== 'PLAINTEXT')
    return 'signature method is not PLAINTEXT';
  if (params.has('oauth_version') && params.get('oauth_version') !== '1.0') return 'oauth_version';
  for (const k of ['oauth_nonce', 'oauth_timestamp']) if (!params.has(k)) return `no ${k}`;
  for (const [id, machine] of Object.entries(state.machines)) {
    const [consumer, token, secret] = machine.token.split(':');
    if (params.get('oauth_consumer_key') !== consumer || params.get('oauth_token') !== token)
      continue;
    // PLAINTEXT: <consumer secret (empty)>&<token secret>.
    return params.get('oauth_signature') === `&${secret ?? ''}` ? [id, machine] : 'wrong signature';
  }
  return 'unknown token';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      if (body.length < 1_048_576) body += chunk;
    });
    req.on('end', () => resolve(body));
  });
}

function reply(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  body: string,
  type = 'text/plain',
): void {
  const extra: Record<string, string> =
    status === 401 ? { 'www-authenticate': 'OAuth realm="ingot"' } : {};
  res.writeHead(status, { 'content-type': type, ...extra }).end(body);
  emit({
    type: 'request',
    method: req.method,
    path: req.url,
    status,
    bytes: Buffer.byteLength(body),
  });
}

/** Requests cut so far, by path. */
const refused = new Map<string, number>();

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const state = readState();
  const cut = refused.get(path) ?? 0;
  if (cut < (state.refuseFirst?.[path] ?? 0)) {
    refused.set(path, cut + 1);
    emit({ type: 'refused', method: req.method, path });
    req.socket.destroy();
    return;
  }
  const image = /^\/images\/([0-9a-f]{64})$/.exec(path);
  if (image?.[1] !== undefined && req.method === 'GET') {
    const file = state.files[image[1]];
    if (file === undefined) return reply(res, req, 404, 'no such image\n');
    const size = statSync(file).size;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    createReadStream(file).pipe(res);
    emit({ type: 'request', method: 'GET', path, status: 200, bytes: size });
    return;
  }
  if (path === '/MAAS/metadata/' && req.method === 'GET')
    return reply(res, req, 200, '2012-03-01\nlatest\n');
  const meta = /^\/MAAS\/metadata\/(latest|2012-03-01|status)\/(.*)$/.exec(path);
  if (meta?.[1] === undefined || meta[2] === undefined) return reply(res, req, 404, 'not found\n');
  const who = authenticate(req, state);
  if (typeof who === 'string') {
    emit({ type: 'auth-failed', path, reason: who });
    return reply(res, req, 401, `${who}\n`);
  }
  const [id, machine] = who;
  const [version, rest] = [meta[1], meta[2]];
  if (version === 'status') {
    if (req.method !== 'POST') return reply(res, req, 405, 'POST only\n');
    if (rest !== id) return reply(res, req, 403, 'another machine\n');
    const body = await readBody(req);
    emit({ type: 'status', machine: id, body: JSON.parse(body) as unknown });
    return reply(res, req, 204, '');
  }
  if (req.method === 'POST' && rest === 'commissioning') {
    const body = await readBody(req);
    emit({ type: 'commissioning', machine: id, body: JSON.parse(body) as unknown });
    return reply(res, req, 200, '');
  }
  if (req.method !== 'GET') return reply(res, req, 405, 'GET only\n');
  const host = req.headers.host ?? `${values.address}:${values.port}`;
  switch (rest) {
    case 'meta-data/':
      return reply(res, req, 200, 'instance-id\nlocal-hostname\npublic-keys\n');
    case 'meta-data/instance-id':
      return reply(res, req, 200, id);
    case 'meta-data/local-hostname':
      return reply(res, req, 200, machine.hostname);
    case 'meta-data/public-keys':
      return reply(res, req, 200, machine.publicKeys.map((k) => `${k}\n`).join(''));
    case 'user-data':
      return reply(res, req, 200, machine.userData);
    case 'install-config': {
      const config = {
        ...machine.installConfig,
        cloud_init: { metadata_url: `http://${host}/MAAS/metadata/`, token: machine.token },
      };
      return reply(res, req, 200, JSON.stringify(config), 'application/json');
    }
    default:
      return reply(res, req, 404, 'not found\n');
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((e: unknown) => {
    emit({ type: 'error', message: String(e) });
    if (!res.headersSent) res.writeHead(500).end();
  });
});
server.listen(Number(values.port), values.address, () => emit({ type: 'listening' }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
