import { describe, expect, it } from 'vitest';
import { oauthHeader, parseIngotCmdline, parseIpxeScript, sha256OfUrl } from './boot-script.ts';

const SHA_K = 'a'.repeat(64);
const SHA_I = 'b'.repeat(64);
const SHA_S = 'c'.repeat(64);
const BASE = 'http://172.31.16.1:5248';
const MAC = '52:f1:00:01:00:02';

/** The agent's network-boot script (packages/rack-agent/src/boot/boot-config.ts renderIpxeScript). */
const NETWORK_SCRIPT = [
  '#!ipxe',
  '# Ingot: sim-1 (m-1) install',
  'echo Ingot: sim-1 (m-1) install',
  `kernel ${BASE}/images/${SHA_K}?mac=${MAC} initrd=initrd BOOTIF=01-52-f1-00-01-00-02 ip=dhcp ingot.purpose=install ingot.machine=m-1 ingot.agent=${BASE} ingot.squashfs=${BASE}/images/${SHA_S}?mac=${MAC} ingot.metadata=${BASE}/MAAS/metadata/ ingot.token=ck:tk:ts || goto failed`,
  `initrd --name initrd ${BASE}/images/${SHA_I}?mac=${MAC} || goto failed`,
  'boot || goto failed',
  ':failed',
  'echo Ingot: network boot failed, rebooting in 10 s',
  'sleep 10',
  'reboot',
  '',
].join('\n');

const LOCAL_SCRIPT = [
  '#!ipxe',
  '# Ingot: sim-1 (m-1) boots its local disk',
  'echo Ingot: sim-1 (m-1) boots its local disk',
  'iseq ${platform} efi && goto local_exit ||',
  'sanboot --no-describe --drive 0x80 || goto local_exit',
  ':local_exit',
  'exit',
  '',
].join('\n');

describe('iPXE scripts', () => {
  it('follows a network boot: kernel URL and command line (without initrd=), initrd URL', () => {
    const boot = parseIpxeScript(NETWORK_SCRIPT);
    expect(boot).toMatchObject({
      kind: 'network',
      kernelUrl: `${BASE}/images/${SHA_K}?mac=${MAC}`,
      initrdUrl: `${BASE}/images/${SHA_I}?mac=${MAC}`,
    });
    expect(boot?.kind === 'network' && boot.cmdline).toMatch(
      /^BOOTIF=01-52-f1-00-01-00-02 ip=dhcp ingot\.purpose=install/,
    );
    expect(boot?.kind === 'network' && boot.cmdline).not.toMatch(/initrd=|goto/);
  });

  it('a sanboot/exit script is a local boot', () => {
    expect(parseIpxeScript(LOCAL_SCRIPT)).toEqual({ kind: 'local' });
  });

  it('not a script, or a kernel without an initrd: nothing to boot', () => {
    expect(parseIpxeScript('<html>')).toBeUndefined();
    expect(parseIpxeScript('#!ipxe\nkernel http://x/k\nboot')).toBeUndefined();
  });
});

describe('kernel command line', () => {
  it('reads the ingot.* parameters the initramfs and installer use', () => {
    const boot = parseIpxeScript(NETWORK_SCRIPT);
    const cmdline = boot?.kind === 'network' ? parseIngotCmdline(boot.cmdline) : undefined;
    expect(cmdline).toEqual({
      purpose: 'install',
      machine: 'm-1',
      agent: BASE,
      squashfs: `${BASE}/images/${SHA_S}?mac=${MAC}`,
      metadata: `${BASE}/MAAS/metadata/`,
      token: 'ck:tk:ts',
    });
  });

  it('without a token or machine there is no installer run', () => {
    expect(parseIngotCmdline('ip=dhcp ingot.purpose=install ingot.machine=m-1')).toBeUndefined();
  });

  it('names the sha256 of an image URL', () => {
    expect(sha256OfUrl(`${BASE}/images/${SHA_K}?mac=${MAC}`)).toBe(SHA_K);
    expect(sha256OfUrl(`${BASE}/images/${SHA_K}`)).toBe(SHA_K);
    expect(sha256OfUrl(`${BASE}/boot.ipxe`)).toBeUndefined();
  });
});

describe('OAuth PLAINTEXT header', () => {
  it('is the installer’s header byte for byte (ingot_oauth_header)', () => {
    expect(oauthHeader('ck:tk:ts', 'n-1', 1_764_200_000.9)).toBe(
      'OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="ck", oauth_token="tk", oauth_signature="%26ts", oauth_nonce="n-1", oauth_timestamp="1764200000"',
    );
  });

  it('refuses a token that is not consumer:token:secret', () => {
    expect(oauthHeader('ck:tk', 'n', 1)).toBeUndefined();
    expect(oauthHeader('a:b:c:d', 'n', 1)).toBeUndefined();
  });
});
