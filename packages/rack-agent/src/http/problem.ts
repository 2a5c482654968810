import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** RFC 9457 problem details, as every error of the machine-facing API is answered. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
};

/**
 * Answers with an `application/problem+json` body. `type` is `about:blank` (RFC 9457 §4.2.1):
 * the status says what kind of problem it is, `detail` says what exactly was wrong.
 */
export function problem(c: Context, status: ContentfulStatusCode, detail: string): Response {
  const body: Problem = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail };
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json' });
}
