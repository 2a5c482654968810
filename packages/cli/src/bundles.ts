/**
 * The rack agent and the controller as they run in production: one JavaScript file each, run by
 * plain `node` (the systemd units; the fleet bench):
 *
 * - `packages/rack-agent/dist/ingot-agent.mjs` (`pnpm build:agent`), with AGENT_NODE_FLAGS;
 * - `packages/controller/dist/ingot-controller.mjs` (`pnpm build:controller`).
 *
 * Why (README design notes, "The agent's memory"): the agent's goal is ≤ 200 MB with 1,000
 * machines and 100 deploying at once. Run from source through tsx it idled at 115 MB (tsx, its
 * transform cache and source maps) and peaked at 290 MB, though its live heap was under 30 MB:
 * V8's default heap growth (up to 4× the live size on a machine with several GB) kept the
 * garbage of 100 concurrent boots. Bundled (esbuild, already in the workspace through tsx and
 * vite) it idles at 70 MB; with a 256 MB old space V8 grows the heap by at most 1.3× and with
 * 2 MB semi-spaces the young generation stays small. The controller gains the same way from
 * leaving tsx (no transform at each start, no compiler in memory).
 *
 * `node --import tsx packages/cli/src/bundles.ts agent|controller|all` writes them.
 */
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const SRC = join(ROOT, 'packages', 'cli', 'src');

/** The agent's bundle; it sits in the rack-agent package so its one external resolves. */
export const AGENT_BUNDLE = join(ROOT, 'packages', 'rack-agent', 'dist', 'ingot-agent.mjs');

/** The controller's bundle, in the controller package so its externals and the UI resolve. */
export const CONTROLLER_BUNDLE = join(
  ROOT,
  'packages',
  'controller',
  'dist',
  'ingot-controller.mjs',
);

/**
 * Node flags for the agent: the old space capped at 256 MB (V8 then grows the heap by at most
 * 1.3× the live data instead of 4×; the live heap is ~30 MB at 1,000 machines) and 2 MB
 * semi-spaces. The systemd unit's ExecStart carries the same flags (a test keeps them equal).
 */
export const AGENT_NODE_FLAGS: readonly string[] = [
  '--max-old-space-size=256',
  '--max-semi-space-size=2',
];

/** One bundle: its entry (in packages/cli/src), where it goes, what stays a package. */
interface BundleSpec {
  readonly entry: string;
  readonly outfile: string;
  /**
   * Packages left to `import`: native code (better-sqlite3) and optional native speed-ups that
   * the bundled code only tries to load (pg-native, ws's bufferutil and utf-8-validate).
   */
  readonly external: readonly string[];
  /** Files the code reads beside its own module (`new URL('./x', import.meta.url)`). */
  readonly beside: readonly string[];
}

const BUNDLES = {
  agent: {
    entry: join(SRC, 'agent-main.ts'),
    outfile: AGENT_BUNDLE,
    external: ['better-sqlite3'],
    beside: [
      join(ROOT, 'packages', 'rack-agent', 'src', 'net', 'ra-sender.py'),
      join(ROOT, 'packages', 'rack-agent', 'src', 'net', 'device-helper.py'),
    ],
  },
  controller: {
    entry: join(SRC, 'controller-main.ts'),
    outfile: CONTROLLER_BUNDLE,
    external: ['better-sqlite3', 'pg-native', 'bufferutil', 'utf-8-validate'],
    beside: [],
  },
} as const satisfies Record<string, BundleSpec>;

/** Which bundle. */
export type BundleName = keyof typeof BUNDLES;

/**
 * Writes one bundle (about 0.5 s for the agent, 1 s for the controller). Each file is written
 * under a temporary name and renamed, so a process starting meanwhile runs the old bundle or the
 * new one, never half of one.
 *
 * @returns the bundle's path.
 */
export async function buildBundle(name: BundleName): Promise<string> {
  const spec: BundleSpec = BUNDLES[name];
  const result = await build({
    entryPoints: [spec.entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    outfile: spec.outfile,
    external: [...spec.external],
    // CommonJS packages in an ES module bundle call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __ingotRequire } from 'node:module';\nconst require = __ingotRequire(import.meta.url);",
    },
    logLevel: 'error',
    legalComments: 'none',
  });
  const dist = dirname(spec.outfile);
  mkdirSync(dist, { recursive: true });
  const tmp = (path: string): string => `${path}.${process.pid}.tmp`;
  for (const file of spec.beside) {
    const to = join(dist, file.slice(file.lastIndexOf('/') + 1));
    copyFileSync(file, tmp(to));
    renameSync(tmp(to), to);
  }
  for (const out of result.outputFiles) {
    writeFileSync(tmp(out.path), out.contents);
    renameSync(tmp(out.path), out.path);
  }
  return spec.outfile;
}

/** The agent's bundle (the fleet simulator rebuilds it at each start). */
export function buildAgentBundle(): Promise<string> {
  return buildBundle('agent');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const wanted = process.argv.slice(2);
  const names = Object.keys(BUNDLES) as BundleName[];
  const chosen = wanted.length === 0 || wanted.includes('all') ? names : wanted;
  for (const name of chosen) {
    if (!names.includes(name as BundleName)) {
      process.stderr.write(`usage: bundles.ts [${names.join('|')}|all]…\n`);
      process.exit(2);
    }
    const started = Date.now();
    const path = await buildBundle(name as BundleName);
    process.stdout.write(`${name} bundle: ${path} (${Date.now() - started} ms)\n`);
  }
}
