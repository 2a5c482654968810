/**
 * Runs host tools (ip, apt-get, dpkg-deb, qemu, …) for the network boot lab with `node:child_process`
 * (execa is not a dependency of `test/`). Every call is time-bound and never uses a shell.
 */
import { spawn } from 'node:child_process';

/** The outcome of a finished command. */
export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Options of {@link runCommand}. */
export interface CommandOptions {
  readonly cwd?: string;
  /** Killed (SIGKILL) after this long; the promise then rejects. Default 60 s. */
  readonly timeoutMs?: number;
  /** Resolve instead of rejecting when the exit code is not 0. */
  readonly allowFailure?: boolean;
  /** Written to stdin, which is then closed. */
  readonly input?: string | Buffer;
}

/**
 * Runs `cmd args` to completion.
 *
 * @returns stdout/stderr as text and the exit code.
 * @throws when the command cannot start, exceeds `timeoutMs`, or exits non-zero without
 *   `allowFailure`; the error message carries the command line and its stderr.
 */
export async function runCommand(
  cmd: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const result = await runCommandRaw(cmd, args, options);
  return { stdout: result.stdout.toString('utf8'), stderr: result.stderr, code: result.code };
}

/**
 * Like {@link runCommand} but returns stdout as bytes (e.g. `dpkg-deb --fsys-tarfile … | tar -xO`).
 *
 * @throws as {@link runCommand}.
 */
export async function runCommandRaw(
  cmd: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<{ stdout: Buffer; stderr: string; code: number | null }> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const line = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${line}: timed out after ${timeoutMs} ms\n${err}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${line}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      if (code !== 0 && options.allowFailure !== true) {
        reject(new Error(`${line}: exit ${String(code)}\n${err.trim()}`));
        return;
      }
      resolve({ stdout, stderr: err, code });
    });
    child.stdin.on('error', () => undefined); // the command may exit without reading its input
    child.stdin.end(options.input);
  });
}
