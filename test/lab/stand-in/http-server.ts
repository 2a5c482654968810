/**
 * Stand-in for the agent's HTTP boot server in the lab proof (the real e2e test uses the agent):
 * serves files under `--root` (iPXE scripts, kernel, initrd, squashfs) and accepts
 * `POST /api/v1/machine-events`. Runs inside the lab namespace (`ip netns exec`), so it is a
 * script of its own; it reports every request and event as one JSON line on stdout:
 * `{"type":"listening"}`, `{"type":"request","atMs",…}`, `{"type":"event","atMs","event":{…}}`.
 *
 * Usage: node --import tsx http-server.ts --root DIR --address 172.31.0.1 --port 5248
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    address: { type: 'string', default: '172.31.0.1' },
    port: { type: 'string', default: '5248' },
  },
});
const root = values.root;
if (root === undefined) throw new Error('--root is required');

const emit = (record: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...record, atMs: Date.now() })}\n`);
};

const server = createServer((req, res) => {
  const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
  const remote = req.socket.remoteAddress ?? '';
  if (req.method === 'POST' && path === '/api/v1/machine-events') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      if (body.length < 65_536) body += chunk;
    });
    req.on('end', () => {
      let event: unknown;
      try {
        event = JSON.parse(body);
      } catch {
        res.writeHead(400).end('bad json\n');
        emit({ type: 'request', method: 'POST', path, status: 400, remote });
        return;
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}\n');
      emit({ type: 'event', remote, event });
    });
    return;
  }
  const file = join(root, normalize(`/${path}`));
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    res.writeHead(404).end('not found\n');
    emit({ type: 'request', method: req.method, path, status: 404, remote });
    return;
  }
  res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  emit({ type: 'request', method: req.method, path, status: 200, bytes: size, remote });
  createReadStream(file)
    .pipe(res)
    .on('finish', () => emit({ type: 'sent', path, bytes: size, remote }));
});
server.listen(Number(values.port), values.address, () => emit({ type: 'listening' }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
