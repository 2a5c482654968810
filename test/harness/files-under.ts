import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every file under `dir` (recursively) whose name passes `keep`, with its bytes as latin1 text,
 * so a secrets scan can search binary files (SQLite databases, WAL) for a secret's text.
 */
export function filesUnder(
  dir: string,
  keep: (name: string) => boolean = () => true,
): [string, string][] {
  const out: [string, string][] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, keep));
    else if (keep(name)) out.push([path, readFileSync(path).toString('latin1')]);
  }
  return out;
}
