/**
 * Serves the web UI (`packages/ui`, built by Vite into `dist/`) at `/`: files by path with their
 * content types, hashed assets (`/assets/*`) cached for a year as immutable, `index.html` revalidated
 * on every load, and every other extension-less path (a client route such as `/machines/abc123`)
 * answered with `index.html` so the single-page app can route it. Paths the API, the metadata
 * service, `/ws`, `/metrics` and `/healthz` own are passed on untouched. When the UI is not
 * built, a short page says how to build it.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import type { MiddlewareHandler } from 'hono';

/**
 * Where `pnpm --filter @ingot/ui build` writes the UI: `dist/` of the `@ingot/ui` package, found
 * as Node finds the package, so the path holds from source and from the controller's bundle.
 */
export const DEFAULT_UI_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@ingot/ui/package.json')),
  'dist',
);

/** Path prefixes that are never the UI's. */
const NOT_UI = ['/api/', '/MAAS/', '/ws', '/metrics', '/healthz'];

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page's policy: scripts, styles and connections (REST and `/ws`) only from this origin, no
 * framing. Vite's build has no inline scripts, so none are allowed.
 */
const CSP =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ingot — web UI not built</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>The web UI is not built</h1>
<p>This controller serves the UI from <code>packages/ui/dist</code>, which is missing. Build it with</p>
<pre>pnpm --filter @ingot/ui build</pre>
<p>(<code>scripts/setup.sh</code> does this), then reload. The API is at <code>/api/v1</code>.</p>
</body></html>
`;

/** Whether `path` belongs to the UI (not the API, metadata, websocket, metrics or health). */
export function isUiPath(path: string): boolean {
  return !NOT_UI.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p));
}

async function regularFile(path: string): Promise<{ size: number; mtimeMs: number } | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The middleware serving the UI from `dir` for GET and HEAD requests on UI paths; everything else
 * goes to the next handler.
 */
export function serveUi(dir: string): MiddlewareHandler {
  const root = resolve(dir);
  return async (c, next) => {
    const method = c.req.method;
    const path = c.req.path;
    if ((method !== 'GET' && method !== 'HEAD') || !isUiPath(path)) return next();
    const common = { 'x-content-type-options': 'nosniff' };

    let relative: string;
    try {
      relative = decodeURIComponent(path);
    } catch {
      return c.text('Bad Request\n', 400, common);
    }
    const wanted = resolve(
      root,
      '.' + (relative.endsWith('/') ? relative + 'index.html' : relative),
    );
    const inside = wanted === root || wanted.startsWith(root + sep);
    let file = inside && !relative.includes('\0') ? wanted : undefined;
    let info = file === undefined ? undefined : await regularFile(file);
    if (info === undefined) {
      // A missing file with an extension is a 404; any other path is a client route.
      if (extname(relative) !== '' || !inside) return c.text('Not Found\n', 404, common);
      file = join(root, 'index.html');
      info = await regularFile(file);
      if (info === undefined) {
        return c.body(NOT_BUILT, 503, {
          ...common,
          'content-type': CONTENT_TYPES['.html'] ?? 'text/html',
          'cache-control': 'no-store',
        });
      }
    }
    if (file === undefined) return c.text('Not Found\n', 404, common);

    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    const hashed = relative.startsWith('/assets/');
    const etag = `"${info.size.toString(16)}-${Math.trunc(info.mtimeMs).toString(16)}"`;
    const headers: Record<string, string> = {
      ...common,
      'content-type': type,
      etag,
      // Vite names assets by content hash: a changed file is a new URL, so cache forever.
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    if (type.startsWith('text/html')) {
      headers['content-security-policy'] = CSP;
      headers['referrer-policy'] = 'no-referrer';
    }
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    const bytes = await readFile(file);
    headers['content-length'] = String(bytes.byteLength);
    if (method === 'HEAD') return c.body(null, 200, headers);
    return c.body(new Uint8Array(bytes), 200, headers);
  };
}
