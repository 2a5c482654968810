/**
 * `ingot machines deploy` and `release` flags → API bodies. User data and files are read from
 * local paths (`-` is standard input for user data), so scripts and cloud-configs stay files.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.ts';

/** Flags of `machines deploy`, as parsed. */
export interface DeployFlags {
  readonly os?: string | undefined;
  readonly release?: string | undefined;
  readonly kernel?: string | undefined;
  readonly 'user-data'?: string | undefined;
  readonly 'user-data-file'?: string | undefined;
  readonly ephemeral?: boolean | undefined;
  readonly package?: readonly string[] | undefined;
  readonly run?: readonly string[] | undefined;
  readonly file?: readonly string[] | undefined;
}

/** parseArgs options for {@link DeployFlags}. */
export const DEPLOY_FLAG_OPTIONS = {
  os: { type: 'string' },
  release: { type: 'string' },
  kernel: { type: 'string' },
  'user-data': { type: 'string' },
  'user-data-file': { type: 'string' },
  ephemeral: { type: 'boolean' },
  package: { type: 'string', multiple: true },
  run: { type: 'string', multiple: true },
  file: { type: 'string', multiple: true },
} as const;

/** `--wait` follows the action's steps live; `--timeout` bounds the wait (not the action). */
export const WAIT_FLAG_OPTIONS = {
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

/** How long `--wait` waits without `--timeout` (the controller's own status timeouts are 30 min). */
export const DEFAULT_WAIT_TIMEOUT = '60m';

/**
 * The deploy body. `--file LOCAL:REMOTE[:MODE]` copies a local file into the installed OS;
 * `--package` and `--run` repeat.
 */
export function deployBody(
  flags: DeployFlags,
  readFile: (path: string) => Buffer = (p) => readFileSync(p === '-' ? 0 : p),
): Record<string, unknown> {
  if (flags['user-data'] !== undefined && flags['user-data-file'] !== undefined) {
    throw new UsageError('give --user-data or --user-data-file, not both');
  }
  const userData =
    flags['user-data-file'] === undefined
      ? flags['user-data']
      : readFile(flags['user-data-file']).toString('utf8');
  const files = (flags.file ?? []).map((spec) => {
    const m = /^([^:]+):(\/[^:]*)(?::(0?[0-7]{3}))?$/.exec(spec);
    if (m?.[1] === undefined || m[2] === undefined) {
      throw new UsageError(
        `--file wants LOCAL:/ABSOLUTE/REMOTE[:MODE], got ${JSON.stringify(spec)}`,
      );
    }
    return {
      path: m[2],
      content_base64: readFile(m[1]).toString('base64'),
      mode: m[3] ?? '0644',
    };
  });
  const customised =
    (flags.package?.length ?? 0) > 0 || (flags.run?.length ?? 0) > 0 || files.length > 0;
  return {
    os: flags.os,
    release: flags.release,
    kernel: flags.kernel,
    user_data: userData,
    ephemeral: flags.ephemeral,
    customisation: customised
      ? { packages: [...(flags.package ?? [])], commands: [...(flags.run ?? [])], files }
      : undefined,
  };
}

/** The release body: `--erase quick|full`, `--comment`. */
export function releaseBody(flags: {
  readonly erase?: string | undefined;
  readonly comment?: string | undefined;
}): Record<string, unknown> {
  if (flags.erase !== undefined && flags.erase !== 'quick' && flags.erase !== 'full') {
    throw new UsageError(`--erase is quick or full, got ${JSON.stringify(flags.erase)}`);
  }
  return { comment: flags.comment, erase: flags.erase };
}
