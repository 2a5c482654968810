/**
 * The web UI in a real browser: Debian's Chromium (`/usr/bin/chromium`) driven headless by
 * playwright-core, against a controller started by the test. Records page loads, uncaught page
 * errors and console errors (CSP violations among them), and saves screenshots as test artifacts
 * under `test/artifacts/ui/`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'src', 'main.ts');

/** Where screenshots go (gitignored). */
export const UI_ARTIFACTS = join(ROOT, 'test', 'artifacts', 'ui');

/** Debian's Chromium (scripts/debian-packages.txt). */
export const CHROMIUM = '/usr/bin/chromium';

/** A browser page on the UI, with what it has seen. */
export interface UiBrowser {
  readonly page: Page;
  /** Full page loads since the browser opened (an SPA loads once). */
  loads(): number;
  /** Uncaught exceptions in the page and console errors. */
  errors(): readonly string[];
  /** Saves a full-page screenshot as `test/artifacts/ui/<name>.png`; returns the path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Builds the UI when `packages/ui/dist` is missing (scripts/setup.sh normally has). */
export function ensureUiBuilt(log: (m: string) => void): void {
  if (existsSync(join(ROOT, 'packages', 'ui', 'dist', 'index.html'))) return;
  log('building the web UI (pnpm --filter @ingot/ui build)');
  execFileSync('pnpm', ['--filter', '@ingot/ui', 'build'], {
    cwd: ROOT,
    stdio: 'ignore',
    timeout: 300_000,
  });
}

/** Opens headless Chromium on `url`. */
export async function openUiBrowser(url: string): Promise<UiBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  mkdirSync(UI_ARTIFACTS, { recursive: true });
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespaces for the sandbox; the rest keep Chromium from
    // calling out to Google's services on a closed network.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  let loads = 0;
  const errors: string[] = [];
  page.on('load', () => (loads += 1));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  return {
    page,
    loads: () => loads,
    errors: () => errors,
    async screenshot(name) {
      const path = join(UI_ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => browser.close(),
  };
}

/**
 * `ingot users set-password NAME --password-stdin` as the admin, the password on stdin, as an
 * operator bootstraps sign-in.
 */
export function setPasswordWithCli(
  controllerUrl: string,
  adminKey: string,
  username: string,
  password: string,
): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'users', 'set-password', username, '--password-stdin'],
      {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, INGOT_URL: controllerUrl, INGOT_API_KEY: adminKey },
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) done(output);
      else fail(new Error(`ingot users set-password exited ${String(code)}:\n${output}`));
    });
    child.stdin.end(`${password}\n`);
  });
}
