import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AGENT_BUNDLE, AGENT_NODE_FLAGS, buildAgentBundle } from './agent-bundle.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** The unit's ExecStart words, continuation lines joined. */
function execStart(unitText: string): string[] {
  const joined = unitText.replace(/\\\n\s*/g, ' ');
  const line = joined.split('\n').find((l) => l.startsWith('ExecStart='));
  if (line === undefined) throw new Error('no ExecStart= in the unit');
  return line.slice('ExecStart='.length).trim().split(/\s+/);
}

describe('agent bundle', () => {
  it('is what the systemd unit runs, with the same Node flags', () => {
    const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'ingot-rack-agent.service'), 'utf8');
    const words = execStart(unit);
    expect(words[0]).toBe('/usr/bin/node');
    const script = words.findIndex((w) => w.endsWith('.mjs'));
    expect(words.slice(1, script)).toEqual([...AGENT_NODE_FLAGS]);
    expect(words[script]).toBe(join('/opt/ingot', relative(ROOT, AGENT_BUNDLE)));
  });

  it('builds a file plain node runs as the agent, with the helpers it starts beside it', async () => {
    const path = await buildAgentBundle();
    const help = await promisify(execFile)(process.execPath, [...AGENT_NODE_FLAGS, path, '--help']);
    expect(help.stdout).toMatch(/^Usage: ingot-agent --controller/);
    const bad = await promisify(execFile)(process.execPath, [path, '--controller', 'x:1']).then(
      () => ({ code: 0, stderr: '' }),
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--data DIR is required');
    // Files the agent opens beside its module are beside the bundle too.
    for (const helper of ['device-helper.py', 'ra-sender.py'])
      expect(readFileSync(join(dirname(path), helper), 'utf8')).toMatch(/^#!/);
  });
});
