/** The boot-resource part of the `Store` contract: one resource per `os/release/arch`. */
import { describe, expect, it } from 'vitest';
import type { BootResource } from '../domain/image/boot-resource.ts';
import { describeStoreContract, T0, type OpenStore } from './store-contract-fixtures.ts';

function newBootResource(overrides: Partial<BootResource> = {}): BootResource {
  return {
    id: 'img-1',
    os: 'debian',
    release: 'bookworm',
    arch: 'amd64',
    files: [
      { role: 'kernel', sha256: 'a'.repeat(64), sizeBytes: 8_000_000, name: 'vmlinuz' },
      { role: 'initrd', sha256: 'b'.repeat(64), sizeBytes: 30_000_000, name: 'initrd.img' },
    ],
    kernelParams: 'console=ttyS0,115200',
    createdAtMs: T0,
    ...overrides,
  };
}

/** Registers this part of the `Store` contract for the store `open` returns. */
export function describeImageStoreContract(name: string, open: OpenStore): void {
  describeStoreContract(name, open, (store) => {
    describe('boot resources', () => {
      it('round-trips every field, found by id and by os/release/arch', async () => {
        const r = newBootResource({
          files: [
            ...newBootResource().files,
            { role: 'squashfs', sha256: 'c'.repeat(64), sizeBytes: 2 ** 40, name: 'root.sq' },
          ],
        });
        await store().insertBootResource(r);
        expect(await store().getBootResource(r.id)).toEqual(r);
        expect(await store().findBootResource('debian', 'bookworm', 'amd64')).toEqual(r);
        expect(await store().getBootResource('img-2')).toBeUndefined();
        expect(await store().findBootResource('debian', 'bookworm', 'arm64')).toBeUndefined();
        expect(await store().findBootResource('debian', 'trixie', 'amd64')).toBeUndefined();
        expect(await store().findBootResource('ubuntu', 'bookworm', 'amd64')).toBeUndefined();
      });

      it('lists by os, then release, then arch', async () => {
        const resources = [
          newBootResource({ id: 'u-noble-amd64', os: 'ubuntu', release: 'noble' }),
          newBootResource({ id: 'd-trixie-amd64', release: 'trixie' }),
          newBootResource({ id: 'd-bookworm-arm64', arch: 'arm64' }),
          newBootResource({ id: 'd-bookworm-amd64' }),
        ];
        for (const r of resources) await store().insertBootResource(r);
        expect((await store().listBootResources()).map((r) => r.id)).toEqual([
          'd-bookworm-amd64',
          'd-bookworm-arm64',
          'd-trixie-amd64',
          'u-noble-amd64',
        ]);
      });

      it('refuses a second resource with the same os, release and arch', async () => {
        const first = newBootResource();
        await store().insertBootResource(first);
        await expect(
          store().insertBootResource(newBootResource({ id: 'img-2', kernelParams: '' })),
        ).rejects.toThrow();
        expect(await store().listBootResources()).toEqual([first]);
      });

      it('deletes a resource once, freeing its os/release/arch', async () => {
        const r = newBootResource();
        await store().insertBootResource(r);
        expect(await store().deleteBootResource(r.id)).toBe(true);
        expect(await store().deleteBootResource(r.id)).toBe(false);
        expect(await store().findBootResource(r.os, r.release, r.arch)).toBeUndefined();
        expect(await store().listBootResources()).toEqual([]);
        const again = newBootResource({ id: 'img-2' });
        await store().insertBootResource(again);
        expect(await store().findBootResource(r.os, r.release, r.arch)).toEqual(again);
      });
    });
  });
}
