import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '@ingot/lab/command.ts';

const PACKAGE_DIR = join(import.meta.dirname, '..');
const SCRIPTS = [
  'installer/installer',
  ...readdirSync(join(PACKAGE_DIR, 'installer/lib')).map((f) => `installer/lib/${f}`),
  'initramfs/init',
  'initramfs/udhcpc.script',
  'initramfs/fetch.sh',
  'tiny/init',
];

describe('shell scripts', () => {
  it.each(SCRIPTS)('%s parses as POSIX sh (dash -n)', async (script) => {
    const r = await runCommand('dash', ['-n', join(PACKAGE_DIR, script)], { allowFailure: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('cloud-datasource.sh', () => {
  const lib = join(PACKAGE_DIR, 'installer/lib/cloud-datasource.sh');
  const token = 'Ck4Tn6JvBwUo3zS3vCk9pQ2a:Tk0Zv1tWqJ8dLbPm2nXsRy7e:Ts5Hk8mQp3Lr6Wn9Vb2Xc4Zd';

  it('writes the MAAS datasource and webhook reporter the tiny init reads back', async () => {
    const { stdout } = await runCommand('dash', [
      '-c',
      `. ${lib}; ingot_cloud_datasource http://172.31.0.1:5248/MAAS/metadata ${token} m-42`,
    ]);
    expect(stdout).toContain('datasource_list: [MAAS]');
    expect(stdout).toContain('    metadata_url: "http://172.31.0.1:5248/MAAS/metadata/"');
    expect(stdout).toContain('    consumer_key: "Ck4Tn6JvBwUo3zS3vCk9pQ2a"');
    expect(stdout).toContain('    token_key: "Tk0Zv1tWqJ8dLbPm2nXsRy7e"');
    expect(stdout).toContain('    token_secret: "Ts5Hk8mQp3Lr6Wn9Vb2Xc4Zd"');
    expect(stdout).toContain('    type: webhook');
    expect(stdout).toContain('    endpoint: "http://172.31.0.1:5248/MAAS/metadata/status/m-42"');
  });

  it('builds an OAuth PLAINTEXT header with an empty consumer secret', async () => {
    const { stdout } = await runCommand('dash', [
      '-c',
      `. ${lib}; ingot_oauth_header Ck4Tn6JvBwUo3zS3vCk9pQ2a Tk0Zv1tWqJ8dLbPm2nXsRy7e Ts5Hk8mQp3Lr6Wn9Vb2Xc4Zd`,
    ]);
    expect(stdout).toMatch(/^OAuth oauth_version="1\.0", oauth_signature_method="PLAINTEXT", /);
    expect(stdout).toContain('oauth_consumer_key="Ck4Tn6JvBwUo3zS3vCk9pQ2a"');
    expect(stdout).toContain('oauth_token="Tk0Zv1tWqJ8dLbPm2nXsRy7e"');
    expect(stdout).toContain('oauth_signature="%26Ts5Hk8mQp3Lr6Wn9Vb2Xc4Zd"');
    expect(stdout).toMatch(/oauth_nonce="[0-9a-f-]{36}"/);
    expect(stdout).toMatch(/oauth_timestamp="\d{10}"/);
  });
});
