/**
 * `ingot keys add <file|-> | list | remove <id>`: the signed-in user's SSH public keys, which
 * deployments of their machines install. Tables for people, `--json` for scripts.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from './args.ts';
import { call, type ClientOptions } from './client.ts';
import { field, table } from './table.ts';

type Out = (text: string) => void;

const PATH = '/api/v1/users/me/ssh-keys';

/** Reads all of stdin (for `keys add -`). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The non-empty, non-comment lines of a key file (`authorized_keys` style). */
function keyLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

/** `ingot keys …`. */
export async function keys(
  argv: string[],
  client: ClientOptions,
  json: boolean,
  out: Out,
  readInput: () => Promise<string> = readStdin,
): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'list':
    case undefined: {
      const list = (await call(client, 'GET', PATH)) as unknown[];
      out(
        json
          ? JSON.stringify(list, null, 2) + '\n'
          : table(
              ['ID', 'FINGERPRINT', 'TYPE', 'COMMENT'],
              list.map((k) => [
                field(k, 'id'),
                field(k, 'fingerprint'),
                field(k, 'key').split(' ')[0] ?? '',
                field(k, 'comment') || '-',
              ]),
            ),
      );
      return 0;
    }
    case 'add': {
      const [source] = rest;
      if (source === undefined || rest.length !== 1)
        throw new UsageError('usage: ingot keys add <file.pub | - (stdin)>');
      let text: string;
      try {
        text = source === '-' ? await readInput() : await readFile(source, 'utf8');
      } catch (e) {
        throw new UsageError(`cannot read ${source}: ${(e as Error).message}`);
      }
      const lines = keyLines(text);
      if (lines.length === 0) throw new UsageError(`${source} holds no key`);
      const added: unknown[] = [];
      for (const key of lines) added.push(await call(client, 'POST', PATH, { key }));
      out(
        json
          ? JSON.stringify(added.length === 1 ? added[0] : added, null, 2) + '\n'
          : added
              .map(
                (k) =>
                  `Added ${field(k, 'fingerprint')} ${field(k, 'comment')} (${field(k, 'id')})\n`,
              )
              .join(''),
      );
      return 0;
    }
    case 'remove': {
      const [id] = rest;
      if (id === undefined || rest.length !== 1)
        throw new UsageError('usage: ingot keys remove ID');
      await call(client, 'DELETE', `${PATH}/${encodeURIComponent(id)}`);
      out(json ? JSON.stringify({ removed: id }) + '\n' : `Removed ${id}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command: keys ${sub}`);
  }
}
