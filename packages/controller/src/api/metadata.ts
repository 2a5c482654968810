/**
 * The metadata service over HTTP, in MAAS's layout (docs/deploy-contract.md), mounted at
 * `/MAAS/metadata` beside the REST API. Machines reach it only through their rack agent's proxy.
 * Requests authenticate with the machine's metadata token as OAuth 1.0 PLAINTEXT, not with API
 * keys; the versions listing is public.
 *
 * PLAINTEXT sends the secret itself, so nonces and timestamps are not checked (MAAS does not
 * either): the token's reach is one machine, for the statuses that need it.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Logger } from '@ingot/common';
import type { MetadataCaller, MetadataService } from '../app/metadata-service.ts';
import type { AuthLimiter } from '../app/auth-limiter.ts';
import { authenticateMetadataToken } from '../app/auth-limiter-credentials.ts';
import { metadataSource, tooManyAttempts } from './auth-limit.ts';
import type { DomainError } from '../domain/errors.ts';
import { REPORT_ID_PATTERN } from '../domain/metadata/reporting.ts';
import { decodeOAuthHeader } from './oauth-header.ts';
import { problem, problemFor, type Problem } from './problem.ts';

/** Where the service is mounted. */
export const METADATA_PATH = '/MAAS/metadata';

/** Metadata versions served; both answer the same (cloud-init's MAAS datasource asks 2012-03-01). */
export const METADATA_VERSIONS = ['2012-03-01', 'latest'] as const;

const META_DATA_KEYS = ['instance-id', 'local-hostname', 'public-keys'];

const Facts = z.object({
  cpu_count: z
    .number()
    .int()
    .min(0)
    .max(1 << 16),
  memory_mib: z
    .number()
    .int()
    .min(0)
    .max(2 ** 40),
  disks: z
    .array(
      z.object({
        name: z.string().max(255),
        size_bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        model: z.string().max(255).default(''),
        serial: z.string().max(255).default(''),
      }),
    )
    .max(1024),
  nics: z.array(z.object({ name: z.string().max(255), mac: z.string().max(64) })).max(1024),
});

// Loose objects: cloud-init may add fields; what Ingot reads is checked.
const Report = z.looseObject({
  id: z
    .string()
    .regex(REPORT_ID_PATTERN, 'a report id is 1–128 characters of A–Z a–z 0–9 . _ : -')
    .optional(),
  event_type: z.enum(['start', 'finish']),
  origin: z.string().max(255).default(''),
  name: z.string().min(1).max(255),
  description: z
    .string()
    .max(64 * 1024)
    .default(''),
  result: z.enum(['SUCCESS', 'FAIL', 'WARN']).optional(),
  timestamp: z.number().optional(),
  progress: z.object({ done: z.number().min(0), total: z.number().min(0) }).optional(),
  files: z
    .array(
      z.looseObject({
        path: z.string().max(4096),
        encoding: z.string().max(32).default('base64'),
        content: z.string(),
      }),
    )
    .max(32)
    .default([]),
});

function send(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

function fail(error: DomainError): Response {
  return send(
    problemFor(error),
    error.kind === 'unauthenticated' ? { 'www-authenticate': 'OAuth realm="ingot"' } : {},
  );
}

function text(body: string): Response {
  return new Response(body, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/** The agent's base URL as the machine reached it: its proxy sets `X-Forwarded-Host`/`-Proto`. */
export function agentBaseUrl(c: Context): string {
  const url = new URL(c.req.url);
  const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim() ?? c.req.header('host');
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim();
  return `${proto ?? url.protocol.replace(':', '')}://${host ?? url.host}`;
}

/** Parses a JSON body whatever its content type (cloud-init's webhook posts without one). */
async function jsonBody<T extends z.ZodType>(
  c: Context,
  schema: T,
): Promise<{ ok: true; value: z.infer<T> } | { ok: false; response: Response }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await c.req.text());
  } catch {
    return { ok: false, response: send(problem(400, 'invalid', 'Invalid request', 'not JSON')) };
  }
  const r = schema.safeParse(parsed);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    return { ok: false, response: send(problem(400, 'invalid', 'Invalid request', detail)) };
  }
  return { ok: true, value: r.data };
}

/**
 * Builds the metadata sub-app. Its routes carry the full path (mount it at `/`): Hono would fold
 * a mounted `/` into the mount point, and cloud-init asks for the versions at `…/metadata/`.
 */
export function createMetadataApi(
  service: MetadataService,
  options: {
    readonly maxBodyBytes: number;
    readonly logger: Logger;
    readonly authLimiter: AuthLimiter;
  },
): Hono {
  const app = new Hono();

  const authenticate = async (
    c: Context,
  ): Promise<{ ok: true; caller: MetadataCaller } | { ok: false; response: Response }> => {
    const header = decodeOAuthHeader(c.req.header('authorization'));
    if (!header.ok)
      return {
        ok: false,
        response: fail({ kind: 'unauthenticated', detail: header.error.detail }),
      };
    const credentials = {
      consumerKey: header.value.consumerKey,
      tokenKey: header.value.token,
      tokenSecret: header.value.tokenSecret,
    };
    const r = await authenticateMetadataToken(
      { metadata: service, authLimiter: options.authLimiter },
      credentials,
      metadataSource(c),
    );
    if (r.ok) return { ok: true, caller: r.value };
    if (r.error.kind === 'rate-limited') return { ok: false, response: tooManyAttempts(r.error) };
    return { ok: false, response: fail(r.error) };
  };

  /** A route under a version: 404 for versions Ingot does not serve. */
  const versioned = (c: Context): boolean =>
    (METADATA_VERSIONS as readonly string[]).includes(c.req.param('version') ?? '');

  app.use(
    `${METADATA_PATH}/*`,
    bodyLimit({
      maxSize: options.maxBodyBytes,
      onError: () =>
        send(
          problem(
            413,
            'too-large',
            'Request body too large',
            `bodies are limited to ${options.maxBodyBytes} bytes`,
          ),
        ),
    }),
  );

  const versions = (): Response => text(`${METADATA_VERSIONS.join('\n')}\n`);
  app.get(METADATA_PATH, versions);
  app.get(`${METADATA_PATH}/`, versions);

  app.get(`${METADATA_PATH}/:version/meta-data/`, async (c) => {
    if (!versioned(c)) return c.notFound();
    const auth = await authenticate(c);
    return auth.ok ? text(`${META_DATA_KEYS.join('\n')}\n`) : auth.response;
  });

  app.get(`${METADATA_PATH}/:version/meta-data/:key`, async (c) => {
    if (!versioned(c) || !META_DATA_KEYS.includes(c.req.param('key'))) return c.notFound();
    const auth = await authenticate(c);
    if (!auth.ok) return auth.response;
    const { machine } = auth.caller;
    switch (c.req.param('key')) {
      case 'instance-id':
        return text(machine.id);
      case 'local-hostname':
        return text(machine.hostname);
      default: {
        const keys = await service.publicKeys(auth.caller);
        return text(keys.map((k) => `${k}\n`).join(''));
      }
    }
  });

  app.get(`${METADATA_PATH}/:version/user-data`, async (c) => {
    if (!versioned(c)) return c.notFound();
    const auth = await authenticate(c);
    if (!auth.ok) return auth.response;
    const r = await service.userData(auth.caller);
    if (!r.ok) return fail(r.error);
    return new Response(r.value, { headers: { 'content-type': 'application/octet-stream' } });
  });

  app.get(`${METADATA_PATH}/:version/install-config`, async (c) => {
    if (!versioned(c)) return c.notFound();
    const auth = await authenticate(c);
    if (!auth.ok) return auth.response;
    return c.json(await service.installConfig(auth.caller, agentBaseUrl(c)));
  });

  app.post(`${METADATA_PATH}/:version/commissioning`, async (c) => {
    if (!versioned(c)) return c.notFound();
    const auth = await authenticate(c);
    if (!auth.ok) return auth.response;
    const body = await jsonBody(c, Facts);
    if (!body.ok) return body.response;
    const f = body.value;
    const r = await service.commissioning(auth.caller, {
      cpuCount: f.cpu_count,
      memoryMib: f.memory_mib,
      disks: f.disks.map((d) => ({
        name: d.name,
        sizeBytes: d.size_bytes,
        model: d.model,
        serial: d.serial,
      })),
      nics: f.nics,
    });
    return r.ok ? c.json({ status: r.value.status }, 200) : fail(r.error);
  });

  app.post(`${METADATA_PATH}/status/:machineId`, async (c) => {
    const auth = await authenticate(c);
    if (!auth.ok) return auth.response;
    const body = await jsonBody(c, Report);
    if (!body.ok) return body.response;
    const e = body.value;
    const r = await service.report(
      auth.caller,
      c.req.param('machineId'),
      {
        id: e.id,
        eventType: e.event_type,
        origin: e.origin,
        name: e.name,
        description: e.description,
        result: e.result,
        timestamp: e.timestamp,
        progress: e.progress,
      },
      e.files,
    );
    if (!r.ok) return fail(r.error);
    return c.body(null, 204);
  });

  app.all(`${METADATA_PATH}/*`, () =>
    send(
      problem(
        404,
        'not-found',
        'Not found',
        'no such metadata path (versions: 2012-03-01, latest)',
      ),
    ),
  );
  app.onError((e, c) => {
    options.logger.error('unhandled metadata error', {
      method: c.req.method,
      path: c.req.path,
      error: e,
    });
    return send(problem(500, 'internal', 'Internal error', 'the controller failed; see its log'));
  });
  return app;
}
