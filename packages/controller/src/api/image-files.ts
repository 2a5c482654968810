/**
 * `/api/v1/images/files/{sha256}`: the bytes of image files (DESIGN.md §6). Admins upload;
 * admins and racks (their agents fill their image caches from here) download, with single
 * `Range` requests so an interrupted download resumes.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { assertNever } from '@ingot/common';
import type { Context } from 'hono';
import type { BlobWriteError } from '../app/blob-store.ts';
import type { Actor } from '../app/actor.ts';
import type { RateLimited } from '../app/auth-limiter.ts';
import { authenticateRackSecret } from '../app/auth-limiter-credentials.ts';
import { ERRORS, type ApiApp, type ApiDeps, type ApiEnv } from './context.ts';
import { ProblemDto } from './dto.ts';
import { DomainFailure, problem, unwrap, type Problem } from './problem.ts';

/** The path every image file lives under; the agent's cache fetches from here. */
export const IMAGE_FILES_PATH = '/api/v1/images/files/';

const Params = z.object({
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits')
    .openapi({ param: { name: 'sha256', in: 'path' } }),
});

const binary = (description: string) =>
  ({
    description,
    content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
  }) as const;

const problemOf = (description: string) =>
  ({ description, content: { 'application/problem+json': { schema: ProblemDto } } }) as const;

/** True for requests the image-file routes may serve to a rack (`Authorization: Rack …`). */
export function isImageFileRead(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && path.startsWith(IMAGE_FILES_PATH);
}

/** True for uploads, whose bodies are image-sized and exempt from the API's body limit. */
export function isImageFileUpload(method: string, path: string): boolean {
  return method === 'PUT' && path.startsWith(IMAGE_FILES_PATH);
}

/**
 * Checks `Authorization: Rack <rackId>:<secret>` (the credentials an agent got at enrollment) and
 * returns the rack actor, `undefined` when the header is not of that form or is wrong, or the
 * refusal when this address or rack has failed too often (`rack-secret` limits).
 */
export async function authenticateRack(
  deps: Pick<ApiDeps, 'racks' | 'authLimiter'>,
  header: string,
  source: string,
): Promise<Actor | RateLimited | undefined> {
  const match = /^Rack\s+([^:\s]+):(\S+)$/i.exec(header);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const rack = await authenticateRackSecret(deps, match[1], match[2], source);
  if (!rack.ok) return rack.error.kind === 'rate-limited' ? rack.error : undefined;
  return { kind: 'rack', rackId: rack.value.id };
}

/**
 * Parses a `Range` header against a file of `size` bytes (RFC 9110 §14.1.2). One range only;
 * a multi-range request is answered whole (allowed: a server may ignore `Range`).
 * `undefined`: no usable header, send everything; `'unsatisfiable'`: 416.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null) return undefined;
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // Suffix range: the last N bytes.
    const n = Number(last);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function uploadProblem(e: BlobWriteError): Problem {
  switch (e.kind) {
    case 'digest-mismatch':
      return problem(
        422,
        'digest-mismatch',
        'Checksum mismatch',
        `the ${e.sizeBytes} bytes sent hash to ${e.actual}, not ${e.expected}; nothing was kept`,
        { expected_sha256: e.expected, actual_sha256: e.actual },
      );
    case 'size-mismatch':
      return problem(
        422,
        'size-mismatch',
        'Size mismatch',
        `Content-Length said ${e.expected} bytes but ${e.actual > e.expected ? 'more' : e.actual} arrived; nothing was kept`,
      );
    case 'interrupted':
      return problem(400, 'interrupted', 'Upload interrupted', `${e.detail}; nothing was kept`);
    default:
      return assertNever(e, 'blob write error');
  }
}

function sendProblem(p: Problem): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

const tags = ['images'];
/** Downloads take an admin API key or rack credentials (OpenAPI security alternatives). */
const ADMIN_OR_RACK: Record<string, string[]>[] = [{ bearer: [] }, { rack: [] }];

/** Registers the image file routes. */
export function registerImageFileRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'rack', {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: 'Rack credentials from enrollment: `Rack <rack_id>:<rack_secret>`',
  });
  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/images/files/{sha256}',
      tags,
      summary: 'Upload an image file by its sha256 (admin)',
      description:
        'The body is the raw file, streamed (the API body limit does not apply). It is hashed while ' +
        'written and kept only if it hashes to `sha256` (and matches `Content-Length`), made ' +
        'durable, then renamed into place. A file already stored answers 200 and is not rewritten.',
      request: {
        params: Params,
        body: {
          required: true,
          content: {
            'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) },
          },
        },
      },
      responses: {
        200: { description: 'Already stored; nothing written' },
        201: { description: 'Stored' },
        ...ERRORS,
        422: problemOf('The bytes do not hash to sha256 or do not match Content-Length'),
      },
    }),
    async (c) => {
      const { sha256 } = c.req.valid('param');
      const length = c.req.header('content-length');
      const expected = length === undefined ? undefined : Number(length);
      const body = c.req.raw.body;
      if (body === null) {
        return sendProblem(problem(400, 'invalid', 'Invalid request', 'the file is the body'));
      }
      const stored = await deps.images.uploadFile(
        c.get('actor'),
        sha256,
        body,
        expected !== undefined && Number.isSafeInteger(expected) ? expected : undefined,
      );
      if (!stored.ok) {
        const e = stored.error;
        if (e.kind === 'digest-mismatch' || e.kind === 'size-mismatch' || e.kind === 'interrupted')
          return sendProblem(uploadProblem(e));
        throw new DomainFailure(e);
      }
      const headers = { etag: `"${sha256}"`, location: `${IMAGE_FILES_PATH}${sha256}` };
      return c.body(null, stored.value.created ? 201 : 200, headers);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/images/files/{sha256}',
      tags,
      summary: 'Download an image file (admin, or a rack with `Authorization: Rack <id>:<secret>`)',
      description:
        'Supports `HEAD` and one `Range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`) for resuming. ' +
        'The `ETag` is the sha256.',
      security: ADMIN_OR_RACK,
      request: { params: Params },
      responses: {
        200: binary('The whole file'),
        206: binary('The requested range (Content-Range)'),
        ...ERRORS,
        416: problemOf('The range lies outside the file'),
      },
    }),
    async (c) => {
      const { sha256 } = c.req.valid('param');
      const info = unwrap(await deps.images.fileInfo(c.get('actor'), sha256));
      return serveFile(c, deps, sha256, info.sizeBytes);
    },
  );
}

function serveFile(c: Context<ApiEnv>, deps: ApiDeps, sha256: string, size: number): Response {
  const common = {
    'accept-ranges': 'bytes',
    etag: `"${sha256}"`,
    'content-type': 'application/octet-stream',
  };
  // If-Range with another validator: the client's partial copy is of something else; send all.
  const ifRange = c.req.header('if-range');
  const range =
    ifRange === undefined || ifRange === `"${sha256}"`
      ? parseRange(c.req.header('range'), size)
      : undefined;
  if (range === 'unsatisfiable') {
    const p = problem(416, 'range', 'Range not satisfiable', `the file has ${size} bytes`);
    return new Response(JSON.stringify(p), {
      status: 416,
      headers: {
        'content-type': 'application/problem+json',
        'content-range': `bytes */${size}`,
        'accept-ranges': 'bytes',
      },
    });
  }
  const head = c.req.method === 'HEAD';
  if (range === undefined) {
    return new Response(head ? null : deps.images.readFile(sha256), {
      status: 200,
      headers: { ...common, 'content-length': String(size) },
    });
  }
  return new Response(head ? null : deps.images.readFile(sha256, range), {
    status: 206,
    headers: {
      ...common,
      'content-length': String(range.end - range.start + 1),
      'content-range': `bytes ${range.start}-${range.end}/${size}`,
    },
  });
}
