/**
 * Prefetching (DESIGN.md §6): image files a boot plan or a Prefetch command names are fetched
 * into the cache before any machine asks for them.
 */
import type { Logger } from '@ingot/common';
import type { BootFile, BootPlan } from '../domain/boot-plan.ts';
import type { CacheError, ImageCache } from './image-cache.ts';

/**
 * Ensures `files` one after another (one download at a time per prefetch, so a burst of plans
 * does not open a connection per file; concurrent prefetches of one file share its download).
 * Failures are logged and handed to `onFailure` (after the cache's own retries: the file is
 * missing on the controller, or its bytes never match their sha256), never thrown.
 */
export async function prefetchFiles(
  cache: Pick<ImageCache, 'ensure'>,
  files: readonly BootFile[],
  logger: Logger,
  onFailure?: (file: BootFile, error: CacheError) => void,
): Promise<void> {
  for (const file of files) {
    const result = await cache.ensure(file.sha256, file.sizeBytes);
    if (!result.ok) {
      logger.warn('could not prefetch an image file', {
        sha256: file.sha256,
        role: file.role,
        reason: result.error.message,
      });
      onFailure?.(file, result.error);
    }
  }
}

/** The files boot plans use, by sha256 with their size: what the cache must keep. */
export function filesInPlans(plans: readonly BootPlan[]): Map<string, number> {
  return new Map(plans.flatMap((p) => p.files.map((f) => [f.sha256, f.sizeBytes] as const)));
}
