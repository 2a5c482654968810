/**
 * The rack agent as it runs in production: one JavaScript file, `packages/rack-agent/dist/
 * ingot-agent.mjs`, run by plain `node` with AGENT_NODE_FLAGS (the systemd unit; the fleet bench).
 *
 * Why (README design notes, "The agent's memory"): the agent's goal is ≤ 200 MB with 1,000
 * machines and 100 deploying at once. Run from source through tsx it idled at 115 MB (tsx, its
 * transform cache and source maps) and peaked at 290 MB, though its live heap was under 30 MB:
 * V8's default heap growth (up to 4× the live size on a machine with several GB) kept the
 * garbage of 100 concurrent boots. Bundled (esbuild, already in the workspace through tsx and
 * vite) it idles at 70 MB; with a 256 MB old space V8 grows the heap by at most 1.3× and with
 * 2 MB semi-spaces the young generation stays small.
 *
 * `node --import tsx packages/cli/src/agent-bundle.ts` (`pnpm build:agent`) writes the bundle.
 */
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const DIST = join(ROOT, 'packages', 'rack-agent', 'dist');

/** The bundle; it sits in the rack-agent package so its one external (better-sqlite3) resolves. */
export const AGENT_BUNDLE = join(DIST, 'ingot-agent.mjs');

/**
 * Node flags for the agent: the old space capped at 256 MB (V8 then grows the heap by at most
 * 1.3× the live data instead of 4×; the live heap is ~30 MB at 1,000 machines) and 2 MB
 * semi-spaces. The systemd unit's ExecStart carries the same flags (a test keeps them equal).
 */
export const AGENT_NODE_FLAGS: readonly string[] = [
  '--max-old-space-size=256',
  '--max-semi-space-size=2',
];

/** Files the agent reads beside its own module (`new URL('./x', import.meta.url)`). */
const BESIDE = [
  join(ROOT, 'packages', 'rack-agent', 'src', 'net', 'ra-sender.py'),
  join(ROOT, 'packages', 'rack-agent', 'src', 'net', 'device-helper.py'),
];

/**
 * Writes the bundle (about 0.5 s). Each file is written under a temporary name and renamed, so
 * a process starting the agent meanwhile runs the old bundle or the new one, never half of one.
 */
export async function buildAgentBundle(): Promise<string> {
  const result = await build({
    entryPoints: [join(ROOT, 'packages', 'cli', 'src', 'agent-main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    outfile: AGENT_BUNDLE,
    // Native code stays a package; everything else (grpc-js, hono, prom-client, execa, @ingot/*)
    // is bundled.
    external: ['better-sqlite3'],
    // CommonJS packages in an ES module bundle call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __ingotRequire } from 'node:module';\nconst require = __ingotRequire(import.meta.url);",
    },
    logLevel: 'error',
    legalComments: 'none',
  });
  mkdirSync(DIST, { recursive: true });
  const tmp = (path: string): string => `${path}.${process.pid}.tmp`;
  for (const file of BESIDE) {
    const to = join(DIST, file.slice(file.lastIndexOf('/') + 1));
    copyFileSync(file, tmp(to));
    renameSync(tmp(to), to);
  }
  for (const out of result.outputFiles) {
    writeFileSync(tmp(out.path), out.contents);
    renameSync(tmp(out.path), out.path);
  }
  return AGENT_BUNDLE;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const path = await buildAgentBundle();
  process.stdout.write(`agent bundle: ${path} (${Date.now() - started} ms)\n`);
}
