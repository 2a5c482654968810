/**
 * `/api/v1/users/me/ssh-keys`: the signed-in user's SSH public keys, which deployments of their
 * machines install (metadata `public-keys`, install config `ssh_keys`).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { SshKey } from '../domain/ssh-key.ts';
import { ERRORS, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from './context.ts';
import { unwrap } from './problem.ts';

/** A stored key as the API shows it. */
export const SshKeyDto = z
  .object({
    id: z.string(),
    key: z.string().openapi({ description: 'The OpenSSH public key line' }),
    fingerprint: z
      .string()
      .openapi({ example: 'SHA256:FtpvILgy5tEvbxFTfWM7/9zTMmhGo5xj9fMMEy36dfE' }),
    comment: z.string(),
    created_at: z.string(),
  })
  .openapi('SshKey');

function sshKeyDto(k: SshKey): z.infer<typeof SshKeyDto> {
  return {
    id: k.id,
    key: k.key,
    fingerprint: k.fingerprint,
    comment: k.comment,
    created_at: new Date(k.createdAtMs).toISOString(),
  };
}

const AddSshKeyBody = z
  .object({
    key: z
      .string()
      .min(1)
      .max(16_384)
      .openapi({ description: 'One OpenSSH public key line (the contents of a .pub file)' }),
  })
  .strict()
  .openapi('AddSshKey');

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/users/me/ssh-keys',
  tags: ['users'],
  summary: "The signed-in user's SSH keys, oldest first",
  responses: { 200: jsonResponse(z.array(SshKeyDto), 'SSH keys'), ...ERRORS },
});

const addRoute = createRoute({
  method: 'post',
  path: '/api/v1/users/me/ssh-keys',
  tags: ['users'],
  summary: 'Add an SSH public key (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp*, sk-*)',
  request: jsonBody(AddSshKeyBody),
  responses: { 201: jsonResponse(SshKeyDto, 'Added'), ...ERRORS },
});

const removeRoute = createRoute({
  method: 'delete',
  path: '/api/v1/users/me/ssh-keys/{id}',
  tags: ['users'],
  summary: 'Remove one of your SSH keys',
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: { 204: { description: 'Removed' }, ...ERRORS },
});

/** Registers the SSH key routes. */
export function registerSshKeyRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(listRoute, async (c) =>
    c.json(unwrap(await deps.sshKeys.list(c.get('actor'))).map(sshKeyDto), 200),
  );

  app.openapi(addRoute, async (c) => {
    const key = unwrap(await deps.sshKeys.add(c.get('actor'), c.req.valid('json').key));
    return c.json(sshKeyDto(key), 201);
  });

  app.openapi(removeRoute, async (c) => {
    unwrap(await deps.sshKeys.remove(c.get('actor'), c.req.valid('param').id));
    return c.body(null, 204);
  });
}
