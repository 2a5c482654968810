import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, constants, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { silentLogger, systemClock } from '@ingot/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTftpServer, type TftpServerHandle } from './server.ts';
import { createDirectoryResolver } from './testing/directory-resolver.ts';
import { createUdpTransport } from './udp-transport.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Fails (never skips) with the Debian package to install when a client is missing. */
async function requireBinary(name: string, debianPackage: string): Promise<void> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      await access(join(dir, name), constants.X_OK);
      return;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`'${name}' is not installed: apt-get install -y ${debianPackage}`);
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

let root: string;
let out: string;
let server: TftpServerHandle;
let port: number;
const files = new Map<string, string>(); // name → sha256

beforeAll(async () => {
  await requireBinary('tftp', 'tftp-hpa');
  await requireBinary('atftp', 'atftp');
  await requireBinary('curl', 'curl');
  root = await mkdtemp(join(tmpdir(), 'ingot-tftp-root-'));
  out = await mkdtemp(join(tmpdir(), 'ingot-tftp-out-'));
  const sizes = { 'empty.bin': 0, 'b511.bin': 511, 'b512.bin': 512, '1m.bin': 1 << 20 };
  for (const [name, size] of Object.entries({ ...sizes, '20m.bin': 20 << 20 })) {
    const data = randomBytes(size);
    await writeFile(join(root, name), data);
    files.set(name, sha256(data));
  }
  server = await createTftpServer(
    { host: '127.0.0.1', port: 0 },
    {
      resolver: createDirectoryResolver(root),
      createTransport: createUdpTransport,
      clock: systemClock,
      logger: silentLogger,
    },
  ).start();
  port = server.address().port;
}, 60_000);

afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

const host = '127.0.0.1';
type Fetch = (file: string, local: string) => [string, string[]];
const clients: Record<string, Fetch> = {
  'tftp-hpa -m binary (512-byte blocks: this client has no blksize option)': (file, local) => [
    'tftp',
    ['-m', 'binary', host, String(port), '-c', 'get', file, local],
  ],
  'atftp blksize 1468': (file, local) => [
    'atftp',
    ['-g', '-r', file, '-l', local, '--option', 'blksize 1468', host, String(port)],
  ],
  'atftp windowsize 16 blksize 1468': (file, local) => [
    'atftp',
    [
      '-g',
      '-r',
      file,
      '-l',
      local,
      '--option',
      'windowsize 16',
      '--option',
      'blksize 1468',
      host,
      String(port),
    ],
  ],
  curl: (file, local) => ['curl', ['-sS', '-o', local, `tftp://${host}:${port}/${file}`]],
  'curl --tftp-blksize 1468': (file, local) => [
    'curl',
    ['-sS', '--tftp-blksize', '1468', '-o', local, `tftp://${host}:${port}/${file}`],
  ],
};

describe('real TFTP clients fetch byte-identical files', () => {
  const names = ['empty.bin', 'b511.bin', 'b512.bin', '1m.bin', '20m.bin'];
  const cases = Object.entries(clients).flatMap(([client, fetch]) =>
    names.map((name) => [client, name, fetch] as const),
  );
  it.each(cases)('%s: %s', async (client, name, fetch) => {
    const local = join(out, `${client.replaceAll(/\W/g, '_')}-${name}`);
    const [command, args] = fetch(name, local);
    const result = await run(command, args);
    expect(result.code, result.stderr).toBe(0);
    expect(sha256(await readFile(local))).toBe(files.get(name));
    await rm(local);
  });
});

describe('real TFTP clients are refused, and the server keeps serving', () => {
  async function stillServing(): Promise<void> {
    const local = join(out, 'after');
    const result = await run('curl', ['-sS', '-o', local, `tftp://${host}:${port}/b511.bin`]);
    expect(result.code).toBe(0);
    expect((await stat(local)).size).toBe(511);
  }

  it('path traversal: tftp-hpa, atftp and curl get an access violation', async () => {
    const hpa = await run('tftp', [
      '-m',
      'binary',
      host,
      String(port),
      '-c',
      'get',
      '../../etc/passwd',
      join(out, 'p1'),
    ]);
    expect(hpa.stderr + hpa.stdout).toContain('Error code 2');
    const atftp = await run('atftp', [
      '-g',
      '-r',
      '../../etc/passwd',
      '-l',
      join(out, 'p2'),
      host,
      String(port),
    ]);
    expect(atftp.code).not.toBe(0);
    const curl = await run('curl', [
      '-sS',
      '--path-as-is',
      '-o',
      join(out, 'p3'),
      `tftp://${host}:${port}/../../etc/passwd`,
    ]);
    expect(curl.code).toBe(69); // CURLE_TFTP_PERM
    await stillServing();
  });

  it('write requests: tftp-hpa put, atftp -p and curl -T are refused', async () => {
    const source = join(root, 'b511.bin');
    const hpa = await run('tftp', [
      '-m',
      'binary',
      host,
      String(port),
      '-c',
      'put',
      source,
      'up.bin',
    ]);
    expect(hpa.stderr + hpa.stdout).toContain('Error code 2');
    const atftp = await run('atftp', ['-p', '-l', source, '-r', 'up.bin', host, String(port)]);
    expect(atftp.code).not.toBe(0);
    const curl = await run('curl', ['-sS', '-T', source, `tftp://${host}:${port}/up.bin`]);
    expect(curl.code).toBe(69);
    await expect(access(join(root, 'up.bin'))).rejects.toThrow();
    await stillServing();
  });

  it('a missing file is an error for every client', async () => {
    const hpa = await run('tftp', [
      '-m',
      'binary',
      host,
      String(port),
      '-c',
      'get',
      'missing',
      join(out, 'm1'),
    ]);
    expect(hpa.stderr + hpa.stdout).toContain('Error code 1');
    const atftp = await run('atftp', [
      '-g',
      '-r',
      'missing',
      '-l',
      join(out, 'm2'),
      host,
      String(port),
    ]);
    expect(atftp.code).not.toBe(0);
    const curl = await run('curl', [
      '-sS',
      '-o',
      join(out, 'm3'),
      `tftp://${host}:${port}/missing`,
    ]);
    expect(curl.code).toBe(68); // CURLE_TFTP_NOTFOUND
    await stillServing();
  });
});
