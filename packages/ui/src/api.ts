/**
 * The REST client: JSON over `fetch` with the session key as `Bearer`. Failures come back as
 * {@link ApiError} carrying the controller's RFC 9457 problem detail; a 401 means the session is
 * gone, and the app returns to sign-in.
 */

/** A failed API call. */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(status: number, title: string, detail: string) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
  }
}

/** What the client needs: the key, and what to do when it stops working. */
export interface ApiClient {
  readonly key: string;
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

function problemOf(status: number, statusText: string, text: string): ApiError {
  try {
    const p = JSON.parse(text) as { title?: unknown; detail?: unknown };
    const title = typeof p.title === 'string' ? p.title : statusText;
    const detail = typeof p.detail === 'string' ? p.detail : text;
    return new ApiError(status, title, detail);
  } catch {
    return new ApiError(status, statusText, text.slice(0, 500) || statusText);
  }
}

/** Calls the API without a key (sign-in) or with one. */
export async function apiRequest<T>(
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key !== undefined) headers['authorization'] = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'Controller unreachable', e instanceof Error ? e.message : String(e));
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  if (!response.ok) throw problemOf(response.status, response.statusText, text);
  return JSON.parse(text) as T;
}

/** A client bound to `key`; `onUnauthorized` runs when the controller stops accepting it. */
export function createApiClient(key: string, onUnauthorized: () => void): ApiClient {
  return {
    key,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      try {
        return await apiRequest<T>(key, method, path, body);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) onUnauthorized();
        throw e;
      }
    },
  };
}

/** A message for any thrown value. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError)
    return e.status === 0 ? `${e.title}: ${e.message}` : `${e.title}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
