/**
 * `pnpm bench:images`: image file throughput through a real controller process, as
 * `ingot images import` uploads and an agent downloads: a 200 MiB file PUT (streamed from disk)
 * and GET (streamed into a hash, checked) on a controller on SQLite (files on disk) and on one on
 * PostgreSQL (files as 1 MiB bytea chunks; a throwaway server from Debian's packages). Also the
 * controller's peak RSS (VmHWM), which shows whether a whole file was ever held in memory.
 * Figures, not assertions; one upload, best of two downloads.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startPostgresServer } from '@ingot/controller/testing';
import { startControllerProc, tempDir, type ControllerProc } from '../harness/processes.ts';

const SIZE_MIB = Number(process.env['BENCH_IMAGE_MIB'] ?? 200);

/** Writes SIZE_MIB MiB of incompressible bytes and returns their sha256. */
async function makeFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  const seed = createHash('sha512');
  const out = createWriteStream(path);
  for (let i = 0; i < SIZE_MIB; i++) {
    // Each MiB differs (a counter-seeded expansion), so nothing deduplicates or compresses.
    const block = Buffer.alloc(1 << 20);
    for (let j = 0; j < block.length; j += 64) {
      seed.update(`${String(i)}:${String(j)}`);
      seed.copy().digest().copy(block, j);
    }
    hash.update(block);
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
  return hash.digest('hex');
}

function put(c: ControllerProc, sha256: string, path: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${c.url}/api/v1/images/files/${sha256}`, {
      method: 'PUT',
      agent: false,
      headers: {
        authorization: `Bearer ${c.adminKey}`,
        'content-type': 'application/octet-stream',
        'content-length': size,
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    void pipeline(createReadStream(path), req).catch(reject);
  });
}

async function get(c: ControllerProc, sha256: string): Promise<string> {
  const res = await fetch(`${c.url}/api/v1/images/files/${sha256}`, {
    headers: { authorization: `Bearer ${c.adminKey}` },
  });
  if (res.status !== 200 || res.body === null) throw new Error(`GET: ${String(res.status)}`);
  const hash = createHash('sha256');
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

function peakRssMib(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

async function bench(
  name: string,
  c: ControllerProc,
  path: string,
  sha256: string,
): Promise<string> {
  const size = SIZE_MIB << 20;
  const idleRss = peakRssMib(c.pid);
  const t0 = performance.now();
  const status = await put(c, sha256, path, size);
  const up = performance.now() - t0;
  if (status !== 201) throw new Error(`${name}: upload answered ${String(status)}`);
  let down = Infinity;
  for (let round = 0; round < 2; round++) {
    const t1 = performance.now();
    if ((await get(c, sha256)) !== sha256) throw new Error(`${name}: download differs`);
    down = Math.min(down, performance.now() - t1);
  }
  const mbs = (ms: number): string => (size / 1e6 / (ms / 1000)).toFixed(0);
  return (
    `${name.padEnd(30)} upload ${mbs(up)} MB/s (${(up / 1000).toFixed(1)} s), ` +
    `download ${mbs(down)} MB/s (${(down / 1000).toFixed(1)} s, best of 2), ` +
    `controller peak RSS ${peakRssMib(c.pid).toFixed(0)} MiB (${idleRss.toFixed(0)} MiB before)`
  );
}

const work = tempDir('bench-images');
const server = await startPostgresServer();
const controllers: ControllerProc[] = [];
try {
  const path = join(work.path, 'image.bin');
  const sha256 = await makeFile(path);
  const lines: string[] = [];
  const sqliteDir = tempDir('bench-images-sqlite');
  const pgDir = tempDir('bench-images-pg');
  try {
    const onSqlite = await startControllerProc({ dataDir: sqliteDir.path });
    controllers.push(onSqlite);
    lines.push(await bench('sqlite (files on disk)', onSqlite, path, sha256));
    const onPg = await startControllerProc({
      dataDir: pgDir.path,
      args: ['--db', await server.createDatabase()],
    });
    controllers.push(onPg);
    lines.push(await bench('postgres (1 MiB bytea chunks)', onPg, path, sha256));
  } finally {
    await Promise.all(controllers.map((c) => c.stop()));
    sqliteDir.cleanup();
    pgDir.cleanup();
  }
  process.stdout.write(`image files, ${String(SIZE_MIB)} MiB:\n${lines.join('\n')}\n`);
} finally {
  await server.stop();
  work.cleanup();
}
