/**
 * `pnpm images:build [ephemeral|debian|tiny|all]`: builds (or finds cached) images and prints
 * their directories, ready for `ingot images import <dir>`. The cache is `INGOT_IMAGE_CACHE`
 * (default /var/cache/ingot/images). Building ephemeral and debian needs root (debootstrap).
 */
import { DEFAULT_IMAGE_CACHE } from './cache.ts';
import { buildDebianImage } from './debian.ts';
import { buildEphemeralImage } from './ephemeral.ts';
import type { BuildOptions, BuiltImage } from './parts.ts';
import { buildTinyImage } from './tiny.ts';

const BUILDERS = {
  ephemeral: buildEphemeralImage,
  tiny: buildTinyImage,
  debian: buildDebianImage,
} as const satisfies Record<string, (o: BuildOptions) => Promise<BuiltImage>>;
type Kind = keyof typeof BUILDERS;

function isKind(s: string): s is Kind {
  return Object.hasOwn(BUILDERS, s);
}

async function main(argv: readonly string[]): Promise<number> {
  const wanted = argv.length === 0 ? ['all'] : argv;
  const kinds: Kind[] = [];
  for (const w of wanted) {
    if (w === 'all') kinds.push('ephemeral', 'tiny', 'debian');
    else if (isKind(w)) kinds.push(w);
    else {
      process.stderr.write(`usage: pnpm images:build [ephemeral|debian|tiny|all]…\n`);
      return 2;
    }
  }
  const cacheDir = process.env['INGOT_IMAGE_CACHE'] ?? DEFAULT_IMAGE_CACHE;
  const t0 = Date.now();
  const log = (m: string): void => {
    process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${m}\n`);
  };
  for (const kind of new Set(kinds)) {
    log(`${kind}: checking the cache in ${cacheDir}`);
    const image = await BUILDERS[kind]({ cacheDir, log });
    const sizes = image.manifest.files
      .map((f) => `${f.name} ${(f.size_bytes / 1048576).toFixed(1)} MiB`)
      .join(', ');
    log(
      `${image.manifest.name}: ${image.built ? 'built' : 'cached'} in ${(image.elapsedMs / 1000).toFixed(1)} s (${sizes})`,
    );
    process.stdout.write(`${image.dir}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`images:build: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
