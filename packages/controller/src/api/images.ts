/**
 * `/api/v1/images`: boot resources, `os/release/arch` with files by sha256.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ARCHITECTURES } from '../domain/machine/machine.ts';
import { BOOT_FILE_ROLES, type BootResource } from '../domain/image/boot-resource.ts';
import { ERRORS, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from './context.ts';
import { unwrap } from './problem.ts';

const Name = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ -');
const File = z
  .object({
    role: z.enum(BOOT_FILE_ROLES),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
    size_bytes: z.number().int().min(0),
    name: z.string().min(1).max(255),
  })
  .strict();

const CreateImageBody = z
  .object({
    os: Name,
    release: Name,
    arch: z.enum(ARCHITECTURES).default('amd64'),
    files: z.array(File).min(2).max(4),
    kernel_params: z.string().max(1024).default(''),
  })
  .strict()
  .openapi('CreateImage');

const ImageDto = z
  .object({
    id: z.string(),
    os: z.string(),
    release: z.string(),
    arch: z.string(),
    files: z.array(
      z.object({ role: z.string(), sha256: z.string(), size_bytes: z.number(), name: z.string() }),
    ),
    kernel_params: z.string(),
    created_at: z.string(),
  })
  .openapi('Image');

function imageDto(r: BootResource): z.infer<typeof ImageDto> {
  return {
    id: r.id,
    os: r.os,
    release: r.release,
    arch: r.arch,
    files: r.files.map((f) => ({
      role: f.role,
      sha256: f.sha256,
      size_bytes: f.sizeBytes,
      name: f.name,
    })),
    kernel_params: r.kernelParams,
    created_at: new Date(r.createdAtMs).toISOString(),
  };
}

const tags = ['images'];

/** Registers the image routes. */
export function registerImageRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/images',
      tags,
      responses: { 200: jsonResponse(z.array(ImageDto), 'Images'), ...ERRORS },
    }),
    async (c) => c.json((await deps.images.list()).map(imageDto), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/images',
      tags,
      summary: 'Register an image by its files (admin)',
      request: jsonBody(CreateImageBody),
      responses: { 201: jsonResponse(ImageDto, 'Registered'), ...ERRORS },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const image = unwrap(
        await deps.images.create(c.get('actor'), {
          os: b.os,
          release: b.release,
          arch: b.arch,
          files: b.files.map((f) => ({
            role: f.role,
            sha256: f.sha256,
            sizeBytes: f.size_bytes,
            name: f.name,
          })),
          kernelParams: b.kernel_params,
        }),
      );
      return c.json(imageDto(image), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/images/{id}',
      tags,
      request: { params: z.object({ id: z.string().min(1).max(64) }) },
      responses: { 204: { description: 'Deleted' }, ...ERRORS },
    }),
    async (c) => {
      unwrap(await deps.images.delete(c.get('actor'), c.req.valid('param').id));
      return c.body(null, 204);
    },
  );
}
