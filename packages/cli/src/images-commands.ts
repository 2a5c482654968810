/**
 * `ingot images import|list|show|delete` (DESIGN.md §6). Import takes an image directory or an
 * archive of one, recognises its files (by `manifest.json`, else by name), builds a squashfs from
 * a `root/` tree with `mksquashfs`, uploads every file the controller lacks with a progress line,
 * and registers the image.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import { parse, UsageError } from './args.ts';
import { ApiError, call, type ClientOptions } from './client.ts';
import { classifyImageDir, type ImageFile } from './image-files.ts';
import { humanBytes } from './bytes.ts';
import { createProgress } from './progress.ts';
import { field, table } from './table.ts';

type Out = (text: string) => void;

/** Flags of `ingot images import`. */
export const importFlags = {
  os: { type: 'string' },
  release: { type: 'string' },
  arch: { type: 'string' },
  'kernel-params': { type: 'string' },
  'boot-from': { type: 'string' },
} as const;

/** Runs `ingot images …`; resolves to the exit code. */
export async function images(
  argv: string[],
  client: ClientOptions,
  json: boolean,
  out: Out,
): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'import':
      return importImage(rest, client, json, out);
    case 'list':
    case undefined: {
      const list = (await call(client, 'GET', '/api/v1/images')) as unknown[];
      out(json ? JSON.stringify(list, null, 2) + '\n' : imagesTable(list));
      return 0;
    }
    case 'show': {
      const id = one(rest, 'images show ID');
      const image = await call(client, 'GET', `/api/v1/images/${encodeURIComponent(id)}`);
      out(json ? JSON.stringify(image, null, 2) + '\n' : imageDetail(image));
      return 0;
    }
    case 'delete': {
      const id = one(rest, 'images delete ID');
      await call(client, 'DELETE', `/api/v1/images/${encodeURIComponent(id)}`);
      out(json ? '{}\n' : `Deleted image ${id}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown images command ${JSON.stringify(sub)}`);
  }
}

function one(args: string[], usage: string): string {
  const { positionals } = parse(args, {});
  const [id] = positionals;
  if (id === undefined || positionals.length > 1) throw new UsageError(`usage: ingot ${usage}`);
  return id;
}

function imagesTable(list: unknown[]): string {
  return table(
    ['ID', 'OS', 'RELEASE', 'ARCH', 'FILES', 'SIZE', 'CREATED'],
    list.map((i) => {
      const files = (i as { files?: { size_bytes: number }[] }).files ?? [];
      return [
        field(i, 'id'),
        field(i, 'os'),
        field(i, 'release'),
        field(i, 'arch'),
        String(files.length),
        humanBytes(files.reduce((n, f) => n + f.size_bytes, 0)),
        field(i, 'created_at'),
      ];
    }),
  );
}

function imageDetail(image: unknown): string {
  const head = ['id', 'os', 'release', 'arch', 'kernel_params', 'created_at']
    .map((k) => `${k.padEnd(14)} ${field(image, k)}`)
    .join('\n');
  const files = (image as { files?: unknown[] }).files ?? [];
  return (
    `${head}\n\n` +
    table(
      ['ROLE', 'NAME', 'FORMAT', 'SIZE', 'SHA256'],
      files.map((f) => [
        field(f, 'role'),
        field(f, 'name'),
        field(f, 'format'),
        humanBytes(Number(field(f, 'size_bytes'))),
        field(f, 'sha256'),
      ]),
    )
  );
}

async function importImage(
  argv: string[],
  client: ClientOptions,
  json: boolean,
  out: Out,
): Promise<number> {
  const { values, positionals } = parse(argv, importFlags);
  const [source] = positionals;
  if (source === undefined || positionals.length > 1) {
    throw new UsageError(
      'usage: ingot images import DIR|ARCHIVE --os OS --release RELEASE [--arch amd64] [--kernel-params P] [--boot-from OS/RELEASE]',
    );
  }
  if (!existsSync(source)) throw new UsageError(`${source} does not exist`);
  const work = mkdtempSync(join(tmpdir(), 'ingot-import-'));
  // Progress goes to stderr so `--json` output stays parseable.
  const say = (line: string): void => void process.stderr.write(line);
  try {
    let dir = source;
    if (!statSync(source).isDirectory()) {
      dir = join(work, 'unpacked');
      say(`Unpacking ${basename(source)}\n`);
      mkdirSync(dir);
      // GNU tar recognises gzip, xz, bzip2 and zstd compression when reading.
      await execa('tar', ['-xf', source, '-C', dir]);
    }
    const classified = await classifyImageDir(dir);
    const manifest = classified.manifest;
    const os = values.os ?? manifest?.os;
    const release = values.release ?? manifest?.release;
    const arch = values.arch ?? manifest?.arch ?? 'amd64';
    if (os === undefined || release === undefined) {
      throw new UsageError('--os and --release are required (the directory has no manifest.json)');
    }
    const files: ImageFile[] = [...classified.files];
    if (classified.rootTree !== undefined) {
      const squashfs = join(work, 'root.squashfs');
      say(`Building root.squashfs from ${classified.rootTree} (mksquashfs, zstd)\n`);
      await execa('mksquashfs', [
        classified.rootTree,
        squashfs,
        '-comp',
        'zstd',
        '-noappend',
        '-no-progress',
        '-quiet',
      ]);
      files.push({ path: squashfs, name: 'root.squashfs', role: 'root-image', format: 'squashfs' });
    }
    const bootFrom =
      values['boot-from'] === undefined ? [] : await bootFilesOf(client, values['boot-from'], arch);
    const have = new Set([...files.map((f) => f.role), ...bootFrom.map((f) => f.role)]);
    if (!have.has('kernel') || !have.has('initrd')) {
      throw new UsageError(
        `${source} has no ${have.has('kernel') ? 'initrd' : 'kernel'} (vmlinuz*, initrd*); ` +
          'for a custom root image, boot it with the kernel and initrd of an image already ' +
          'imported: --boot-from debian/bookworm',
      );
    }

    const registered: Record<string, unknown>[] = [...bootFrom];
    for (const file of files) {
      const sizeBytes = statSync(file.path).size;
      const sha256 = await hashFile(file.path);
      await upload(client, file, sha256, sizeBytes, say);
      registered.push({
        role: file.role,
        sha256,
        size_bytes: sizeBytes,
        name: file.name,
        ...(file.format === undefined ? {} : { format: file.format }),
      });
    }
    const image = await call(client, 'POST', '/api/v1/images', {
      os,
      release,
      arch,
      files: registered,
      kernel_params: values['kernel-params'] ?? manifest?.kernel_params ?? '',
    });
    out(
      json
        ? JSON.stringify(image, null, 2) + '\n'
        : `Imported ${os}/${release}/${arch} as image ${field(image, 'id')}\n`,
    );
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The kernel and initrd entries of an image already imported (`OS/RELEASE`, same arch). */
async function bootFilesOf(
  client: ClientOptions,
  name: string,
  arch: string,
): Promise<Record<string, unknown>[]> {
  const [os, release] = name.split('/');
  const list = (await call(client, 'GET', '/api/v1/images')) as {
    os: string;
    release: string;
    arch: string;
    files: { role: string; sha256: string; size_bytes: number; name: string }[];
  }[];
  const image = list.find((i) => i.os === os && i.release === release && i.arch === arch);
  if (image === undefined) throw new UsageError(`--boot-from: no image ${name}/${arch}`);
  return image.files
    .filter((f) => f.role === 'kernel' || f.role === 'initrd')
    .map(({ role, sha256, size_bytes, name: fileName }) => ({
      role,
      sha256,
      size_bytes,
      name: fileName,
    }));
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function authHeaders(client: ClientOptions): Record<string, string> {
  return client.key === undefined ? {} : { authorization: `Bearer ${client.key}` };
}

/** Uploads a file unless the controller already has it, showing progress. */
async function upload(
  client: ClientOptions,
  file: ImageFile,
  sha256: string,
  sizeBytes: number,
  say: (line: string) => void,
): Promise<void> {
  const url = new URL(`/api/v1/images/files/${sha256}`, client.url);
  const head = await fetch(url, { method: 'HEAD', headers: authHeaders(client) });
  if (head.ok && head.headers.get('content-length') === String(sizeBytes)) {
    say(`${file.name}: already on the controller (${humanBytes(sizeBytes)})\n`);
    return;
  }
  const progress = createProgress(file.name, sizeBytes, process.stderr);
  // Counted as the body is pulled, so the rate follows the network, not the disk.
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of createReadStream(file.path)) {
      const bytes = chunk as Buffer;
      progress.add(bytes.length);
      yield bytes;
    }
  }
  const response = await fetch(url, {
    method: 'PUT',
    headers: {
      ...authHeaders(client),
      'content-type': 'application/octet-stream',
      'content-length': String(sizeBytes),
    },
    body: Readable.toWeb(Readable.from(counted())),
    duplex: 'half',
  });
  progress.done();
  if (!response.ok) {
    const text = await response.text();
    let detail = text;
    try {
      const parsed = JSON.parse(text) as { detail?: unknown };
      if (typeof parsed.detail === 'string') detail = parsed.detail;
    } catch {
      // Not a problem document; keep the text.
    }
    throw new ApiError(response.status, `uploading ${file.name}: ${response.status} ${detail}`);
  }
}
