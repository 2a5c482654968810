/**
 * `POST /api/v1/users/me/api-keys`: mints another API key for the signed-in user, shown once in
 * both forms — Ingot's `ingot_<id>_<secret>` and MAAS's `consumer_key:token_key:token_secret`,
 * which is the same key (`maas-key.ts`). `ingot users api-key --maas` prints the latter.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ERRORS, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from '../context.ts';
import { unwrap } from '../problem.ts';
import { maasKeyOf } from './maas-key.ts';

const CreateApiKeyBody = z
  .object({
    name: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: 'What the key is for (default "api")' }),
  })
  .strict();

/** A new key, shown once. */
export const NewApiKeyDto = z
  .object({
    id: z.string(),
    name: z.string(),
    api_key: z.string().openapi({ description: 'ingot_<id>_<secret>: Authorization: Bearer …' }),
    maas_api_key: z.string().openapi({
      description: 'The same key for MAAS clients (/MAAS/api/2.0/): consumer:token:secret',
    }),
  })
  .openapi('NewApiKey');

const createApiKeyRoute = createRoute({
  method: 'post',
  path: '/api/v1/users/me/api-keys',
  tags: ['users'],
  summary: 'Create another API key for yourself (also in MAAS form; shown once)',
  request: jsonBody(CreateApiKeyBody),
  responses: { 201: jsonResponse(NewApiKeyDto, 'The new key'), ...ERRORS },
});

/** Registers the route. */
export function registerApiKeyRoute(app: ApiApp, deps: ApiDeps): void {
  app.openapi(createApiKeyRoute, async (c) => {
    const name = c.req.valid('json').name ?? 'api';
    const { id, apiKey } = unwrap(await deps.users.createApiKey(c.get('actor'), name));
    const maas = maasKeyOf(apiKey);
    if (maas === undefined) throw new Error('a new API key has no MAAS form');
    return c.json({ id, name, api_key: apiKey, maas_api_key: maas }, 201);
  });
}
