/**
 * A small client for the controller's REST API. Errors come back as the controller's RFC 9457
 * problem documents, turned into messages a person can act on: what went wrong, then what to do.
 */

/** Where and how to reach the controller. */
export interface ClientOptions {
  readonly url: string;
  readonly key: string | undefined;
}

/** The fields of an RFC 9457 problem document the CLI shows (and Ingot's extensions). */
export interface ProblemDoc {
  readonly type?: string | undefined;
  readonly title?: string | undefined;
  readonly detail?: string | undefined;
  readonly field?: string | undefined;
  readonly status_name?: string | undefined;
  readonly allowed?: readonly string[] | undefined;
}

/**
 * A failed API call. `message` is the first line (`409 Conflict: <detail>`); `hint` says what to
 * do about it. `status` 0 means the controller could not be reached at all.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly hint: string | undefined;
  readonly problem: ProblemDoc | undefined;

  constructor(status: number, message: string, hint?: string, problem?: ProblemDoc) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.hint = hint;
    this.problem = problem;
  }
}

function asProblem(body: unknown): ProblemDoc | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const text = (k: string): string | undefined => (typeof b[k] === 'string' ? b[k] : undefined);
  const allowed = Array.isArray(b.allowed)
    ? b.allowed.filter((a): a is string => typeof a === 'string')
    : undefined;
  return {
    type: text('type'),
    title: text('title'),
    detail: text('detail'),
    field: text('field'),
    status_name: text('status_name'),
    allowed,
  };
}

/**
 * The CLI command for a lifecycle action the API names in `allowed`, or undefined for the
 * actions only the machine and the controller take (`released`, `timeout` …): those are not the
 * operator's to run.
 */
function commandFor(action: string, machineId: string): string | undefined {
  const cli: Readonly<Record<string, string>> = {
    commission: `commission ${machineId}`,
    allocate: 'allocate --name HOSTNAME',
    deploy: `deploy ${machineId}`,
    release: `release ${machineId}`,
    release_erase: `release ${machineId} --erase quick`,
    abort: `abort ${machineId}`,
    mark_broken: `mark-broken ${machineId}`,
    mark_fixed: `mark-fixed ${machineId}`,
  };
  const command = cli[action];
  return command === undefined ? undefined : `ingot machines ${command}`;
}

/** What to do about a failed call: a sentence, or undefined when the detail says it all. */
export function hintFor(
  status: number,
  problem: ProblemDoc | undefined,
  options: ClientOptions,
  path: string,
): string | undefined {
  const slug = problem?.type?.replace(/^.*\/problems\//, '');
  const machineId = /^\/api\/v1\/machines\/([^/?]+)/.exec(path)?.[1];
  switch (status) {
    case 401:
      return options.key === undefined || options.key === ''
        ? 'no API key given: set INGOT_API_KEY or pass --key (the first admin key is in the controller’s DATA/admin.key; `ingot users create NAME` prints a new user’s key)'
        : 'the API key was not accepted: check INGOT_API_KEY / --key (keys are shown once, when the user is created; an admin can create a new user)';
    case 403:
      return 'your user may not do this: ask an admin (admins act on every machine, users on the machines they own)';
    case 404:
      return machineId === undefined
        ? undefined
        : 'list the machines you may see with `ingot machines list`';
    case 409:
      if (slug === 'invalid-transition' && machineId !== undefined) {
        const allowed = (problem?.allowed ?? [])
          .map((a) => commandFor(a, machineId))
          .filter((c) => c !== undefined);
        const status = problem?.status_name ?? 'in another status';
        return allowed.length === 0
          ? `the machine is ${status}: wait for it (ingot events --follow --machine ${machineId})`
          : `the machine is ${status}; allowed now: ${allowed.join(' | ')}`;
      }
      if (slug === 'locked' && machineId !== undefined)
        return `unlock it first: ingot machines unlock ${machineId}`;
      if (slug === 'no-match')
        return 'see what is free with `ingot machines list --status ready`, or loosen the constraints';
      if (slug === 'no-rack')
        return 'a rack agent must serve the machine’s network: check `ingot racks list`';
      if (slug === 'stale') return 'run the command again';
      return undefined;
    case 400:
    case 422:
      return problem?.field === undefined ? undefined : `check ${problem.field}`;
    default:
      return status >= 500
        ? 'the controller failed: its log (stderr, or journalctl -u ingot-controller) says why'
        : undefined;
  }
}

/** Calls the API and returns the parsed JSON body (undefined for 204). */
export async function call(
  options: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(new URL(path, options.url), {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (e) {
    throw unreachable(options.url, e);
  }
  if (response.status === 204) return undefined;
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text for the error message.
  }
  if (!response.ok) {
    const problem = asProblem(parsed);
    const detail = problem?.detail ?? (text.trim() === '' ? response.statusText : text.trim());
    // 409s have specific titles ("Machine is locked"); other titles repeat the status text.
    const title =
      response.status === 409 &&
      problem?.title !== undefined &&
      problem.title !== response.statusText &&
      !detail.toLowerCase().startsWith(problem.title.toLowerCase())
        ? ` (${problem.title})`
        : '';
    throw new ApiError(
      response.status,
      `${response.status} ${response.statusText}: ${detail}${title}`,
      hintFor(response.status, problem, options, path),
      problem,
    );
  }
  return parsed;
}

/** The error for a controller that does not answer at all. */
export function unreachable(url: string, e: unknown): ApiError {
  const cause = e instanceof Error ? (e.cause instanceof Error ? e.cause : e) : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const why = typeof code === 'string' ? code : (cause?.message ?? String(e));
  return new ApiError(
    0,
    `cannot reach the controller at ${url} (${why})`,
    'is it running (`pnpm start`, or `systemctl status ingot-controller`)? Point the CLI at it with INGOT_URL or --url',
  );
}
