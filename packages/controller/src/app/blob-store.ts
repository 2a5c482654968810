/**
 * The image store port (DESIGN.md §6): image files kept by their sha256, written whole or not at
 * all. The filesystem adapter lives in `store/fs-blob-store.ts`; use cases see only this.
 */
import type { Result } from '@ingot/common';

/** Lower-case hex sha256, the name of every blob. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** What the store knows about a blob. */
export interface BlobInfo {
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** Why a write kept nothing. */
export type BlobWriteError =
  /** The bytes hash to something else than the name they were sent under. */
  | {
      readonly kind: 'digest-mismatch';
      readonly expected: string;
      readonly actual: string;
      readonly sizeBytes: number;
    }
  /** The sender announced a size and sent a different number of bytes. */
  | { readonly kind: 'size-mismatch'; readonly expected: number; readonly actual: number }
  /** The body stream failed (the client went away). */
  | { readonly kind: 'interrupted'; readonly detail: string };

/** An inclusive byte range of a blob. */
export interface BlobRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Content-addressed file storage. A blob exists only once its bytes were checked against its
 * name and made durable: readers never see a partial or unverified file.
 */
export interface BlobStore {
  /** The blob's size, or `undefined` when it is not stored. */
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /**
   * Stores `body` as `sha256`, checking the digest (and `expectedSizeBytes` when given) before it
   * becomes visible. `created: false` means the blob was already stored and was not rewritten
   * (the body is then not read). On any error nothing is kept.
   */
  write(
    sha256: string,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    expectedSizeBytes?: number,
  ): Promise<Result<{ readonly created: boolean; readonly sizeBytes: number }, BlobWriteError>>;
  /**
   * Streams a stored blob, or the inclusive `range` of it. The caller checked with
   * {@link BlobStore.stat} that it exists and that the range lies inside it.
   */
  read(sha256: string, range?: BlobRange): ReadableStream<Uint8Array>;
  /** Removes a blob; `false` when it was not stored. */
  delete(sha256: string): Promise<boolean>;
}
