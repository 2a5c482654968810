import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type MachineJson } from './harness/api.ts';
import { tempDir, waitFor } from './harness/processes.ts';
import { createReadyMachine, createUser, startSite, type Site } from './harness/scenario.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface ImageJson {
  id: string;
  os: string;
  release: string;
  files: {
    role: string;
    sha256: string;
    size_bytes: number;
    name: string;
    format: string | null;
  }[];
}

async function ingot(
  site: Site,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'packages/cli/src/main.ts'), ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          INGOT_URL: site.controller.url,
          INGOT_API_KEY: site.controller.adminKey,
        },
        maxBuffer: 16 << 20,
      },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const f = e as { code: number; stdout: string; stderr: string };
    return { code: f.code, stdout: f.stdout, stderr: f.stderr };
  }
}

/** Downloads an image file from the controller as an admin. */
async function controllerFile(site: Site, sha256: string): Promise<Buffer> {
  const r = await fetch(`${site.controller.url}/api/v1/images/files/${sha256}`, {
    headers: { authorization: `Bearer ${site.controller.adminKey}` },
  });
  expect(r.status).toBe(200);
  return Buffer.from(await r.arrayBuffer());
}

describe('ingot images import and the rack image cache', () => {
  let site: Site;
  const work = tempDir('images');
  const kernel = randomBytes(300_000);
  const initrd = randomBytes(200_000);
  const payload = randomBytes(1_500_000);
  let imported: ImageJson;

  beforeAll(async () => {
    site = await startSite([], { args: ['--image-cache-size', '64M'] });
    // An image directory with a root/ tree: import builds the squashfs with mksquashfs.
    const dir = join(work.path, 'custom');
    mkdirSync(join(dir, 'root', 'etc'), { recursive: true });
    mkdirSync(join(dir, 'root', 'opt'), { recursive: true });
    writeFileSync(join(dir, 'vmlinuz-6.1.0-e2e'), kernel);
    writeFileSync(join(dir, 'initrd.img-6.1.0-e2e'), initrd);
    writeFileSync(join(dir, 'root', 'etc', 'hostname'), 'imported\n');
    writeFileSync(join(dir, 'root', 'opt', 'payload.bin'), payload);
  });
  afterAll(async () => {
    await site.cleanup();
    work.cleanup();
  });

  it('imports a directory with a root/ tree: builds a squashfs, uploads with progress, registers', async () => {
    const r = await ingot(site, [
      'images',
      'import',
      join(work.path, 'custom'),
      '--os',
      'custom',
      '--release',
      'e2e',
      '--arch',
      'amd64',
      '--kernel-params',
      'console=ttyS0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const id = /^Imported custom\/e2e\/amd64 as image (\S+)$/m.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    expect(r.stderr).toMatch(/Building root\.squashfs from .*root \(mksquashfs, zstd\)/);
    // Plain progress lines (stdout is not a terminal here), ending at 100 % with a rate.
    expect(r.stderr).toMatch(
      /^vmlinuz-6\.1\.0-e2e: 293\.0 KiB \/ 293\.0 KiB {2}100% {2}[\d.]+ MB\/s$/m,
    );
    expect(r.stderr).toMatch(/^root\.squashfs: .* 100% {2}[\d.]+ MB\/s$/m);

    const shown = await ingot(site, ['images', 'show', id ?? '', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    imported = JSON.parse(shown.stdout) as ImageJson;
    expect(imported).toMatchObject({
      os: 'custom',
      release: 'e2e',
      kernel_params: 'console=ttyS0',
    });
    const byRole = new Map(imported.files.map((f) => [f.role, f]));
    expect(byRole.get('kernel')).toMatchObject({ sha256: sha(kernel), size_bytes: kernel.length });
    expect(byRole.get('initrd')).toMatchObject({ sha256: sha(initrd), size_bytes: initrd.length });
    const root = byRole.get('root-image');
    expect(root).toMatchObject({ name: 'root.squashfs', format: 'squashfs' });

    // The controller holds a real squashfs of the tree.
    const squashfs = await controllerFile(site, root?.sha256 ?? '');
    expect(squashfs.subarray(0, 4).toString('latin1')).toBe('hsqs');
    const image = join(work.path, 'check.squashfs');
    writeFileSync(image, squashfs);
    const unpacked = join(work.path, 'unpacked');
    await run('unsquashfs', ['-d', unpacked, image]);
    expect(readFileSync(join(unpacked, 'etc', 'hostname'), 'utf8')).toBe('imported\n');
    expect(sha(readFileSync(join(unpacked, 'opt', 'payload.bin')))).toBe(sha(payload));

    const listed = await ingot(site, ['images', 'list']);
    expect(listed.stdout).toMatch(
      new RegExp(`^${id ?? ''}\\s+custom\\s+e2e\\s+amd64\\s+3\\s`, 'm'),
    );
  });

  it('imports again from a .tar.zst archive without re-uploading what the controller has', async () => {
    const archive = join(work.path, 'custom.tar.zst');
    await run('tar', ['--zstd', '-cf', archive, '-C', join(work.path, 'custom'), '.']);
    const r = await ingot(site, [
      'images',
      'import',
      archive,
      '--os',
      'custom',
      '--release',
      'archived',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^vmlinuz-6\.1\.0-e2e: already on the controller/m);
    expect(r.stdout).toMatch(/^Imported custom\/archived\/amd64 as image /m);
  });

  it('refuses a directory without a kernel, naming what is missing', async () => {
    const dir = join(work.path, 'no-kernel');
    mkdirSync(dir);
    writeFileSync(join(dir, 'root.tar.gz'), randomBytes(100));
    const r = await ingot(site, ['images', 'import', dir, '--os', 'x', '--release', 'y']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has no kernel .*--boot-from debian\/bookworm/);
  });

  it('serves the deployed machine its image files from the agent, fetched from the controller', async () => {
    const key = await createUser(site, 'imogen');
    const machine = await createReadyMachine(site, 40);
    const allocated = await api(site.controller.url, key, 'POST', '/api/v1/machines/allocate', {
      name: machine.hostname,
    });
    expect(allocated.status).toBe(200);
    const deployed = await api<MachineJson>(
      site.controller.url,
      key,
      'POST',
      `/api/v1/machines/${machine.id}/deploy`,
      { os: 'custom', release: 'e2e' },
    );
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);

    const root = imported.files.find((f) => f.role === 'root-image');
    if (root === undefined) throw new Error('no root image');
    const expected = await controllerFile(site, root.sha256);
    // The boot plan reaches the agent, which fetches (or already prefetched) the file.
    const served = await waitFor('the agent to serve the root image', async () => {
      const r = await fetch(`${site.agent.url}/images/${root.sha256}`);
      if (r.status !== 200) {
        await r.body?.cancel();
        return undefined;
      }
      return Buffer.from(await r.arrayBuffer());
    });
    expect(served.equals(expected)).toBe(true);
    // Verified and kept in the agent's cache by its hash.
    const cached = join(site.agentDir, 'images', root.sha256);
    expect(existsSync(cached)).toBe(true);
    expect(sha(readFileSync(cached))).toBe(root.sha256);

    // A range from the cache, as a resuming boot loader asks.
    const ranged = await fetch(`${site.agent.url}/images/${root.sha256}`, {
      headers: { range: 'bytes=100-199' },
    });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(expected.subarray(100, 200))).toBe(true);

    // The rack reports its cache; the controller shows it on the rack.
    const racks = await api<{ id: string }[]>(
      site.controller.url,
      site.controller.adminKey,
      'GET',
      '/api/v1/racks',
    );
    const rackId = racks.body[0]?.id ?? '';
    const cache = await waitFor('the rack to report the cached root image', async () => {
      const r = await api<{
        image_cache: {
          capacity_bytes: number;
          files: { sha256: string; size_bytes: number }[];
        } | null;
      }>(site.controller.url, site.controller.adminKey, 'GET', `/api/v1/racks/${rackId}`);
      const reported = r.body.image_cache;
      return reported?.files.some((f) => f.sha256 === root.sha256) === true ? reported : undefined;
    });
    expect(cache.capacity_bytes).toBe(64 * 1024 ** 2);
    expect(cache.files.find((f) => f.sha256 === root.sha256)?.size_bytes).toBe(root.size_bytes);

    // A file no plan uses is not fetched for anyone.
    const kernelOfOther = await fetch(`${site.agent.url}/images/${'0'.repeat(64)}`);
    expect(kernelOfOther.status).toBe(404);
  });
});
