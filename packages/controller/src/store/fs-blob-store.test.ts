import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeBlobStoreContract } from './blob-store.contract.ts';
import { openFsBlobStore } from './fs-blob-store.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describeBlobStoreContract('filesystem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-blobs-'));
  dirs.push(dir);
  return Promise.resolve(openFsBlobStore(dir));
});
