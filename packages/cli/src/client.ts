/**
 * A small client for the controller's REST API. Errors come back as the controller's RFC 9457
 * problem documents, turned into messages a person can act on.
 */

/** Where and how to reach the controller. */
export interface ClientOptions {
  readonly url: string;
  readonly key: string | undefined;
}

/** A failed API call, with the problem document's text. */
export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
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
    });
  } catch (e) {
    throw new ApiError(
      0,
      `cannot reach the controller at ${options.url} (${(e as Error).message}); is it running? (--url or INGOT_URL)`,
    );
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
    const detail =
      typeof parsed === 'object' && parsed !== null && 'detail' in parsed
        ? String(parsed.detail)
        : text;
    const hint =
      response.status === 401
        ? options.key === undefined
          ? ' — set INGOT_API_KEY or pass --key (the admin key is in DATA/admin.key)'
          : ' — check the API key'
        : '';
    throw new ApiError(
      response.status,
      `${response.status} ${response.statusText}: ${detail}${hint}`,
    );
  }
  return parsed;
}
