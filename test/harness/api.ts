/** A tiny typed client for tests: JSON in, JSON out, status kept. */

/** A response: status and parsed body. */
export interface Reply<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/** Calls `url` + `path` with an optional bearer key and JSON body. */
export async function api<T = unknown>(
  url: string,
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url + path, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text.length > 0 ? JSON.parse(text) : undefined) as T,
    headers: res.headers,
  };
}

/** The fields of a machine the tests read. */
export interface MachineJson {
  id: string;
  hostname: string;
  status: string;
  status_message: string;
  owner: string | null;
  last_step: { step: string; result: string; message: string } | null;
}

/** The fields of an event the tests read. */
export interface EventJson {
  seq: number;
  id: string;
  kind: string;
  machine_id: string | null;
  step: string;
  result: string;
  from_status: string | null;
  to_status: string | null;
  message: string;
  occurred_at: string | null;
}
