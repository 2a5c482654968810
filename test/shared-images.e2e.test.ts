import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type MachineJson } from './harness/api.ts';
import {
  startControllers,
  type ClusterController,
  type Controllers,
} from './harness/cluster-controllers.ts';
import { registerImageFiles, type RegisteredFile } from './harness/images.ts';
import { postgresAvailable, usePostgres } from './harness/postgres.ts';
import { tempDir, waitFor, type AgentProc } from './harness/processes.ts';
import {
  createReadyMachine,
  createUser,
  registerImage,
  startEnrolledAgent,
  waitForHealthyRacks,
  type ControllerEndpoint,
} from './harness/scenario.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

/** Fetches an image file from a controller as an admin. */
async function download(
  controller: ControllerEndpoint,
  sha256: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const r = await fetch(`${controller.url}/api/v1/images/files/${sha256}`, {
    method,
    headers: { authorization: `Bearer ${controller.adminKey}`, ...headers },
  });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

/**
 * PUTs a file on a connection of its own: a controller that answers before reading the body
 * (already stored, or refused) closes the connection, which a pooled fetch would reuse.
 */
function upload(
  controller: ControllerEndpoint,
  sha256: string,
  body: Buffer,
): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${controller.url}/api/v1/images/files/${sha256}`, {
      method: 'PUT',
      agent: false,
      headers: {
        authorization: `Bearer ${controller.adminKey}`,
        'content-type': 'application/octet-stream',
        'content-length': body.length,
        connection: 'close',
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!postgresAvailable)(
  'image files shared by two controllers on one PostgreSQL',
  () => {
    const postgres = usePostgres();
    const controllersDir = tempDir('controllers');
    const agentDir = tempDir('agent');
    const work = tempDir('shared-images');
    let cluster: Controllers | undefined;
    let agent: AgentProc | undefined;
    // Not multiples of the 1 MiB chunk, so every file ends in a short chunk.
    const contents = {
      kernel: randomBytes(300_001),
      initrd: randomBytes(MiB + 7),
      root: randomBytes(3 * MiB + 12_345),
    };
    let files: RegisteredFile[] = [];

    const pair = (): [ClusterController, ClusterController] => {
      const [a, b] = cluster?.controllers ?? [];
      if (a === undefined || b === undefined) throw new Error('controllers did not start');
      return [a, b];
    };

    beforeAll(async () => {
      const url = await postgres().createDatabase();
      // Controllers on one database share the admin key file and secrets.key (it seals the rack CA).
      cluster = await startControllers({
        databaseUrl: url,
        controllers: 2,
        workDir: controllersDir.path,
      });
    }, 120_000);

    afterAll(async () => {
      await agent?.stop();
      await cluster?.close();
      for (const d of [controllersDir, agentDir, work]) d.cleanup();
    });

    it('an image uploaded through A is served by B byte for byte, with ranges and HEAD', async () => {
      const [a, b] = pair();
      for (const [name, bytes] of Object.entries(contents))
        writeFileSync(join(work.path, name), bytes);
      files = await registerImageFiles(a.url, a.adminKey, {
        os: 'custom',
        release: 'shared',
        files: [
          { role: 'kernel', path: join(work.path, 'kernel'), name: 'vmlinuz' },
          { role: 'initrd', path: join(work.path, 'initrd'), name: 'initrd.img' },
          { role: 'root-image', path: join(work.path, 'root'), name: 'root.squashfs' },
        ],
      });
      // Nothing reached B's data directory: the files are in the database.
      expect(existsSync(join(b.dataDir, 'images', files[0]?.sha256 ?? ''))).toBe(false);

      for (const [file, bytes] of [
        [files[0], contents.kernel],
        [files[1], contents.initrd],
        [files[2], contents.root],
      ] as const) {
        const got = await download(b, file?.sha256 ?? '');
        expect(got.status).toBe(200);
        expect(got.headers.get('content-length')).toBe(String(bytes.length));
        expect(got.body.equals(bytes), file?.name).toBe(true);
      }
      const root = files[2]?.sha256 ?? '';
      // A range across two chunk boundaries, and the last bytes (suffix range).
      const ranged = await download(b, root, { range: `bytes=${MiB - 10}-${2 * MiB + 9}` });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe(
        `bytes ${MiB - 10}-${2 * MiB + 9}/${contents.root.length}`,
      );
      expect(ranged.body.equals(contents.root.subarray(MiB - 10, 2 * MiB + 10))).toBe(true);
      const tail = await download(b, root, { range: 'bytes=-100' });
      expect(tail.body.equals(contents.root.subarray(-100))).toBe(true);
      const head = await download(b, root, {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(contents.root.length));

      // B knows the file is there: uploading it again through B writes nothing.
      const again = await upload(b, root, contents.root);
      expect(again.status).toBe(200);
      // A file that does not hash to its name is refused by B and not kept for A.
      const wrong = sha(randomBytes(16));
      const refused = await upload(b, wrong, randomBytes(2 * MiB));
      expect(refused.status).toBe(422);
      expect((await download(a, wrong)).status).toBe(404);
    });

    it('an agent connected only to B fetches the image uploaded through A into its cache', async () => {
      const [a, b] = pair();
      await registerImage(a.url, a.adminKey);
      agent = await startEnrolledAgent(b, agentDir.path);
      await waitForHealthyRacks(b);
      const key = await createUser({ controller: b }, 'imogen');
      const machine = await createReadyMachine({ controller: b }, 7);
      const allocated = await api(b.url, key, 'POST', '/api/v1/machines/allocate', {
        name: machine.hostname,
      });
      expect(allocated.status).toBe(200);
      const deployed = await api<MachineJson>(
        b.url,
        key,
        'POST',
        `/api/v1/machines/${machine.id}/deploy`,
        {
          os: 'custom',
          release: 'shared',
        },
      );
      expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);

      const root = files.find((f) => f.role === 'root-image');
      if (root === undefined) throw new Error('no root image');
      const served = await waitFor(
        'the agent to serve the root image',
        async () => {
          const r = await fetch(`${agent?.url ?? ''}/images/${root.sha256}`);
          if (r.status !== 200) {
            await r.body?.cancel();
            return undefined;
          }
          return Buffer.from(await r.arrayBuffer());
        },
        60_000,
      );
      expect(served.equals(contents.root)).toBe(true);
      // Verified and kept in the agent's cache under its hash.
      const cached = join(agentDir.path, 'images', root.sha256);
      expect(existsSync(cached)).toBe(true);
      expect(sha(readFileSync(cached))).toBe(root.sha256);
    });
  },
);
