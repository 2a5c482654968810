/**
 * Issue 6, must-show: `ingot machines deploy|release --wait` run as a real process against a
 * lab VM (tiny image). Its stdout shows the deploy's steps live and in order and a summary, and
 * its exit code says how it ended: 0 deployed, 3 failed (with the failing step and the
 * installer's log tail), 4 when `--timeout` passed first (the deploy carries on).
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useDeploySite, type DeploySite, type LabMachine } from './harness/deploy-lab.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'packages', 'cli', 'src', 'main.ts');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ingot …` as the operator with stdout a pipe (not a terminal), as scripts and CI do. */
function ingot(
  site: DeploySite,
  args: string[],
  timeoutMs = 600_000,
  key = site.userKey,
): Promise<Run> {
  return run(site, process.execPath, ['--import', 'tsx', CLI, ...args], timeoutMs, key);
}

/** Runs a command with the operator's CLI environment; bounded by `timeoutMs`. */
function run(
  site: DeploySite,
  program: string,
  args: string[],
  timeoutMs = 600_000,
  key = site.userKey,
): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(program, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, INGOT_URL: site.controller.url, INGOT_API_KEY: key },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      const shown = program === process.execPath ? `ingot ${args.slice(3).join(' ')}` : args[1];
      site.log(`${shown ?? program} → exit ${String(code)}\n${stdout}${stderr}`);
      done({ code, stdout, stderr });
    });
  });
}

/** The index of the first line matching each pattern, in the order given (-1 when missing). */
function lineIndexes(text: string, patterns: readonly RegExp[]): number[] {
  const lines = text.split('\n');
  return patterns.map((p) => lines.findIndex((l) => p.test(l)));
}

function expectInOrder(text: string, patterns: readonly RegExp[]): void {
  const at = lineIndexes(text, patterns);
  const missing = patterns.filter((_, i) => at[i] === -1);
  expect(missing, text).toEqual([]);
  expect(
    [...at].sort((a, b) => a - b),
    text,
  ).toEqual(at);
}

describe('ingot machines deploy --wait', () => {
  let site: DeploySite;
  let vm: LabMachine;
  useDeploySite({ images: ['tiny'] }, (s, m) => {
    site = s;
    vm = m;
  });

  it('deploys in memory: the steps live, in order, a summary, exit 0', async () => {
    expect((await ingot(site, ['machines', 'allocate', '--name', vm.name])).code).toBe(0);
    const r = await ingot(site, [
      ...['machines', 'deploy', vm.machineId, '--os', 'ingot', '--release', 'tiny'],
      ...['--ephemeral', '--wait', '--timeout', '9m'],
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectInOrder(r.stdout, [
      new RegExp(`^${vm.name}: deploying — `),
      /^ +\+0\.0 s {2}deploy +succeeded .*allocated → deploying$/,
      /^ +\+\d+\.\d s {2}power\.on +succeeded/,
      /^ +\+\d+\.\d s {2}dhcp\.ack +/,
      /^ +\+\d+\.\d s {2}boot\.kernel +/,
      /^ +\+\d+\.\d s {2}\S+ +succeeded .*deploying → deployed$/,
      new RegExp(`^deployed ${vm.name} in \\d+\\.\\d s$`),
    ]);
    // The summary is the last line: the CLI stopped as soon as the machine was deployed.
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^deployed /);
    expect((await site.machine(vm.machineId)).status).toBe('deployed');
  }, 660_000);

  it('releases with --wait: exit 0 once the machine is ready', async () => {
    const r = await ingot(site, ['machines', 'release', vm.machineId, '--wait', '--timeout', '4m']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectInOrder(r.stdout, [/deployed → releasing$/, /releasing → ready$/, /^released /]);
    expect((await site.machine(vm.machineId)).status).toBe('ready');
  }, 300_000);

  it('a failing customisation command: the image progress, then the failing step and log tail, exit 3', async () => {
    expect((await ingot(site, ['machines', 'allocate', '--name', vm.name])).code).toBe(0);
    const r = await ingot(site, [
      ...['machines', 'deploy', vm.machineId, '--os', 'ingot', '--release', 'tiny'],
      ...['--run', 'echo about-to-fail; exit 3', '--wait', '--timeout', '9m'],
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expectInOrder(r.stdout, [
      /allocated → deploying$/,
      /^ +\+\d+\.\d s {2}install\.storage +succeeded/,
      // Progress while the image is written: plain lines with bytes done/total (not a terminal).
      /^ +\+\d+\.\d s {2}install\.image +\d+% +[\d.]+ \S+ \/ [\d.]+ \S+ /,
      /^ +\+\d+\.\d s {2}install\.image +succeeded/,
      /^ +\+\d+\.\d s {2}install\.customise +failed /,
      /^failed_deployment at install\.customise: /,
      /^log tail/,
      /^ {4}.*about-to-fail/,
      new RegExp(`^next: ingot machines release ${vm.machineId}`),
    ]);
    // Not a terminal: no carriage returns or escape sequences, only whole lines.
    expect(r.stdout).not.toMatch(/[\r\x1b]/);
    expect((await site.machine(vm.machineId)).status).toBe('failed_deployment');
    const released = await ingot(site, [
      ...['machines', 'release', vm.machineId],
      ...['--wait', '--timeout', '4m'],
    ]);
    expect(released.code, released.stdout + released.stderr).toBe(0);
  }, 660_000);

  it('--timeout passing first exits 4 and says the deploy goes on', async () => {
    expect((await ingot(site, ['machines', 'allocate', '--name', vm.name])).code).toBe(0);
    const r = await ingot(site, [
      ...['machines', 'deploy', vm.machineId, '--os', 'ingot', '--release', 'tiny'],
      ...['--ephemeral', '--wait', '--timeout', '3s'],
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout).toMatch(new RegExp(`timed out after 3s: ${vm.name} is still deploying`));
    expect(r.stdout).toContain(`follow it with: ingot events --follow --machine ${vm.machineId}`);
    // It goes on without the CLI; the operator stops it (abort → allocated), then releases it.
    expect((await site.machine(vm.machineId)).status).toBe('deploying');
    const aborted = await ingot(site, ['machines', 'abort', vm.machineId]);
    expect(aborted.code, aborted.stdout + aborted.stderr).toBe(0);
    const released = await ingot(site, [
      ...['machines', 'release', vm.machineId],
      ...['--wait', '--timeout', '4m'],
    ]);
    expect(released.code, released.stdout + released.stderr).toBe(0);
    expect(released.stdout).toMatch(new RegExp(`^released ${vm.name} in `, 'm'));
  }, 660_000);

  it('an action the machine’s status does not allow: exit 1, the status and what is allowed', async () => {
    // As the admin, who may act on every machine: the status is what stands in the way.
    const r = await ingot(
      site,
      ['machines', 'release', vm.machineId, '--wait'],
      60_000,
      site.controller.adminKey,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/409 Conflict: machine \S+ is ready: release is not allowed/);
    expect(r.stderr).toMatch(/allowed now: ingot machines /);
  }, 60_000);

  it('deploys to disk on a terminal: a progress bar redrawn in place, deployed, exit 0', async () => {
    expect((await ingot(site, ['machines', 'allocate', '--name', vm.name])).code).toBe(0);
    // `script` gives the CLI a pseudo-terminal, as an operator's shell would.
    const command = [
      process.execPath,
      ...['--import', 'tsx', CLI, 'machines', 'deploy', vm.machineId],
      ...['--os', 'ingot', '--release', 'tiny', '--wait', '--timeout', '9m'],
    ].join(' ');
    const r = await run(site, 'script', ['-qefc', command, '/dev/null']);
    const text = r.stdout.replace(/\r\n/g, '\n');
    expect(r.code, text + r.stderr).toBe(0);
    // The bar is drawn over itself (carriage return, erase line) with bytes done / total …
    expect(text).toMatch(
      /\r\x1b\[K +\+\d+\.\d s {2}install\.image +\[[#.]{20}\] +\d+% {2}[\d.]+ \S+ \/ [\d.]+ \S+ /,
    );
    // … and its line is ended before the next step is printed.
    expect(text).toMatch(/\] 100% [^\n]*\n +\+\d+\.\d s {2}install\.image +succeeded/);
    expectInOrder(text, [
      /install\.storage +succeeded/,
      /install\.image +succeeded/,
      /install\.bootloader +succeeded/,
      /install\.reboot +/,
      /deploying → deployed/,
      new RegExp(`deployed ${vm.name} in \\d+\\.\\d s`),
    ]);
  }, 660_000);

  it('releases with a quick erase and --wait: the erase step, then ready', async () => {
    const r = await ingot(site, [
      'machines',
      'release',
      vm.machineId,
      '--erase',
      'quick',
      '--wait',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectInOrder(r.stdout, [
      /deployed → releasing$/,
      /^ +\+\d+\.\d s {2}erase +succeeded/,
      /releasing → ready$/,
      new RegExp(`^released ${vm.name} in `),
    ]);
  }, 660_000);
});
