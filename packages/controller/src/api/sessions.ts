/**
 * Sign-in for the web UI: `POST /api/v1/sessions` turns a username and password into a session
 * API key; `DELETE /api/v1/sessions/current` signs that key out; `PUT /api/v1/users/{username}/password`
 * sets a password (admins for anyone, users for themselves). Only sign-in is open without a key.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { PASSWORD_LENGTH } from '../app/session-service.ts';
import { ERRORS, jsonBody, jsonResponse, type ApiApp, type ApiDeps } from './context.ts';
import { ProblemDto, UserDto, userDto } from './dto.ts';
import { DomainFailure, unwrap } from './problem.ts';
import { clientAddress, tooManyAttemptsProblem } from './auth-limit.ts';

const PROBLEM = 'application/problem+json';

const SignInBody = z
  .object({
    username: z.string().min(1).max(63),
    password: z
      .string()
      .min(1)
      .max(PASSWORD_LENGTH.max * 4),
  })
  .strict()
  .openapi('SignIn');

const PasswordBody = z
  .object({
    password: z
      .string()
      .min(1)
      .max(PASSWORD_LENGTH.max * 4),
  })
  .strict()
  .openapi('SetPassword');

const signInRoute = createRoute({
  method: 'post',
  path: '/api/v1/sessions',
  tags: ['sessions'],
  summary: 'Sign in with a username and password; returns a session API key (no key needed)',
  security: [],
  request: jsonBody(SignInBody),
  responses: {
    201: jsonResponse(
      z.object({ api_key: z.string(), user: UserDto, expires_at: z.string() }),
      'Signed in; the session key stops working at expires_at',
    ),
    ...ERRORS,
    429: {
      description: 'Too many failed sign-ins for this username or address; see Retry-After',
      content: { [PROBLEM]: { schema: ProblemDto } },
    },
  },
});

const signOutRoute = createRoute({
  method: 'delete',
  path: '/api/v1/sessions/current',
  tags: ['sessions'],
  summary: 'Sign out: deletes the session key this request was made with',
  responses: { 204: { description: 'Signed out' }, ...ERRORS },
});

const setPasswordRoute = createRoute({
  method: 'put',
  path: '/api/v1/users/{username}/password',
  tags: ['users'],
  summary: "Set a user's sign-in password (admins: anyone; users: their own)",
  request: { params: z.object({ username: z.string().min(1).max(63) }), ...jsonBody(PasswordBody) },
  responses: { 204: { description: 'Password set' }, ...ERRORS },
});

/** Whether a request is the sign-in call, the one `/api/v1` route open without an API key. */
export function isSignIn(method: string, path: string): boolean {
  return method === 'POST' && path === '/api/v1/sessions';
}

/** Registers the session and password routes. */
export function registerSessionRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(signInRoute, async (c) => {
    const body = c.req.valid('json');
    const result = await deps.sessions.signIn({ ...body, clientAddress: clientAddress(c) });
    if (!result.ok) {
      const e = result.error;
      if (e.kind === 'rate-limited') {
        const { body, headers } = tooManyAttemptsProblem(e, 'sign-in');
        return c.json(body, 429, headers);
      }
      throw new DomainFailure(e);
    }
    const { apiKey, user, expiresAtMs } = result.value;
    return c.json(
      { api_key: apiKey, user: userDto(user), expires_at: new Date(expiresAtMs).toISOString() },
      201,
    );
  });

  app.openapi(signOutRoute, async (c) => {
    const key = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    unwrap(await deps.sessions.signOut(c.get('user'), key));
    return c.body(null, 204);
  });

  app.openapi(setPasswordRoute, async (c) => {
    const { username } = c.req.valid('param');
    unwrap(await deps.sessions.setPassword(c.get('actor'), username, c.req.valid('json').password));
    return c.body(null, 204);
  });
}
