/**
 * `/api/v1/images`: boot resources, `os/release/arch` with files by sha256. The files' bytes go
 * through `/api/v1/images/files/{sha256}` (image-files.ts) first.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ARCHITECTURES } from '../domain/machine/machine.ts';
import {
  BOOT_FILE_ROLES,
  ROOT_IMAGE_FORMATS,
  rootImageFormat,
  type BootResource,
} from '../domain/image/boot-resource.ts';
import { ERRORS, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from './context.ts';
import { registerImageFileRoutes } from './image-files.ts';
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
    format: z
      .enum(ROOT_IMAGE_FORMATS)
      .optional()
      .openapi({ description: 'Layout of a root file; derived from its name when left out' }),
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
      z.object({
        role: z.string(),
        sha256: z.string(),
        size_bytes: z.number(),
        name: z.string(),
        format: z.enum(ROOT_IMAGE_FORMATS).nullable(),
      }),
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
      format: rootImageFormat(f) ?? null,
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
      description:
        'Every file must already be in the image store (PUT /api/v1/images/files/{sha256}) with ' +
        'the size given; a 400 problem names each file that is not.',
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
      method: 'get',
      path: '/api/v1/images/{id}',
      tags,
      request: { params: z.object({ id: z.string().min(1).max(64) }) },
      responses: { 200: jsonResponse(ImageDto, 'The image'), ...ERRORS },
    }),
    async (c) => c.json(imageDto(unwrap(await deps.images.get(c.req.valid('param').id))), 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/images/{id}',
      tags,
      summary: 'Delete an image and the files no other image uses (admin)',
      request: { params: z.object({ id: z.string().min(1).max(64) }) },
      responses: { 204: { description: 'Deleted' }, ...ERRORS },
    }),
    async (c) => {
      unwrap(await deps.images.delete(c.get('actor'), c.req.valid('param').id));
      return c.body(null, 204);
    },
  );
  registerImageFileRoutes(app, deps);
}
