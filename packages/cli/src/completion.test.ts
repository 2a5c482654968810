import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bashScript, zshScript } from './completion.ts';

const dir = mkdtempSync(join(tmpdir(), 'ingot-completion-'));
const script = join(dir, 'ingot.bash');
writeFileSync(script, bashScript());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Completes `line` (the cursor at its end) with the script in a real bash, with a stand-in
 * `ingot` whose `__complete machines` lists two machines, as the controller would.
 */
function complete(line: string): string[] {
  const words = line.split(' ');
  const program = `
    ingot() { if [[ $1 == __complete ]]; then printf 'm-7f3a\\nlab-1\\n'; fi; }
    source ${JSON.stringify(script)}
    COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})
    COMP_CWORD=${words.length - 1}
    _ingot
    printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', program], { encoding: 'utf8', cwd: dir })
    .split('\n')
    .filter((w) => w !== '');
}

describe('shell completion', () => {
  it('is valid bash', () => {
    expect(() => execFileSync('bash', ['-n', script])).not.toThrow();
  });

  it('completes commands, subcommands and flags', () => {
    expect(complete('ingot ma')).toEqual(['machines']);
    expect(complete('ingot machines de').sort()).toEqual(['delete', 'deploy']);
    expect(complete('ingot machines deploy m-7f3a --w')).toEqual(['--wait']);
    expect(complete('ingot machines release m-7f3a --e')).toEqual(['--erase']);
    expect(complete('ingot agent --enr')).toEqual(['--enroll-token']);
    expect(complete('ingot --json machines l').sort()).toEqual(['list', 'lock']);
  });

  it('completes flag values with their choices', () => {
    expect(complete('ingot machines release m-7f3a --erase ')).toEqual(['quick', 'full']);
    expect(complete('ingot users create bob --role a')).toEqual(['admin']);
  });

  it('completes machine ids and hostnames from the API', () => {
    expect(complete('ingot machines deploy ')).toEqual(expect.arrayContaining(['m-7f3a', 'lab-1']));
    expect(complete('ingot machines power l')).toEqual(['lab-1']);
    expect(complete('ingot machines power m-7f3a o')).toEqual(['on', 'off']);
    expect(complete('ingot events --machine m')).toEqual(['m-7f3a']);
  });

  it('zsh gets the same completion through bashcompinit', () => {
    const z = zshScript();
    expect(z).toContain('bashcompinit');
    expect(z).toContain('complete -F _ingot ingot');
  });
});
