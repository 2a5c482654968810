/**
 * A `BootResolver` over one directory, for TFTP tests and the TFTP benchmark: the path is taken
 * relative to `root`, and anything that would leave it (`..` segments, NUL bytes, symlinks out)
 * is `forbidden`. The real route chain lives in `boot/`.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { err, ok, type Result } from '@ingot/common';
import type {
  BootError,
  BootRequest,
  BootResolver,
  ResolvedBootFile,
} from '../../boot/resolver.ts';

/** Serves files under `root` as `kind: 'file'` content (streamed, never read whole). */
export function createDirectoryResolver(root: string): BootResolver {
  const base = resolve(root);
  return {
    async resolve(request: BootRequest): Promise<Result<ResolvedBootFile, BootError>> {
      const path = request.path;
      const segments = path.replaceAll('\\', '/').split('/');
      if (path.includes('\0') || segments.includes('..')) {
        return err({ kind: 'forbidden', path, reason: 'path leaves the served root' });
      }
      const candidate = join(base, ...segments.filter((s) => s !== '' && s !== '.'));
      try {
        const real = await realpath(candidate);
        if (real !== base && !real.startsWith(base + sep)) {
          return err({ kind: 'forbidden', path, reason: 'symlink leaves the served root' });
        }
        const info = await stat(real);
        if (!info.isFile()) return err({ kind: 'not-found', path });
        return ok({
          content: { kind: 'file', path: real },
          sizeBytes: info.size,
          contentType: 'application/octet-stream',
        });
      } catch {
        return err({ kind: 'not-found', path });
      }
    },
  };
}
