import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@ingot/common';
import type { BootPlan } from '../domain/boot-plan.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import { createBootResolver } from './boot-resolver.ts';
import type { BootRequest, BootResolver } from './resolver.ts';

const K = 'a'.repeat(64);
const I = 'b'.repeat(64);
const S = 'c'.repeat(64);
const MAC = '52:54:00:12:34:56' as MacAddress;
const LEASED = '52:54:00:00:00:77' as MacAddress;
const UNKNOWN = '52:54:00:99:99:99';

const plan = (machineId: string, mac: MacAddress, purpose: BootPlan['purpose']): BootPlan => ({
  machineId,
  version: 1,
  macs: [mac],
  purpose,
  os: 'debian',
  release: 'bookworm',
  arch: 'amd64',
  kernelParams: '',
  files: [
    { role: 'kernel', sha256: K, sizeBytes: 6, name: 'vmlinuz' },
    { role: 'initrd', sha256: I, sizeBytes: 6, name: 'initrd' },
    { role: 'squashfs', sha256: S, sizeBytes: 8, name: 'root.squashfs' },
  ],
  hostname: machineId,
  metadataToken: 'secret-token',
});

const PLANS = new Map<string, BootPlan>([
  [MAC, plan('m-1', MAC, 'install')],
  [LEASED, plan('m-2', LEASED, 'local')],
]);

let root: string;
let resolver: BootResolver;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'boot-resolver-'));
  const loaders = join(root, 'ipxe');
  const pxelinux = join(root, 'pxelinux');
  const images = join(root, 'images');
  const outside = join(root, 'outside');
  for (const dir of [loaders, pxelinux, images, outside]) mkdirSync(dir);
  writeFileSync(join(loaders, 'undionly.kpxe'), 'kpxe');
  writeFileSync(join(loaders, 'ipxe.efi'), 'efi!');
  mkdirSync(join(loaders, 'subdir.efi'));
  writeFileSync(join(pxelinux, 'pxelinux.0'), 'pxe0');
  writeFileSync(join(root, 'shim.signed'), 'shim');
  writeFileSync(join(images, K), 'kernel');
  writeFileSync(join(images, I), 'initrd');
  writeFileSync(join(images, S), 'squashfs');
  writeFileSync(join(outside, 'secret'), 'secret');
  symlinkSync(join(outside, 'secret'), join(images, 'd'.repeat(64)));
  resolver = createBootResolver({
    store: { bootPlanByMac: (mac) => PLANS.get(mac) },
    logger: silentLogger,
    config: {
      imageDir: images,
      loaderDirs: [loaders, pxelinux, join(root, 'missing')],
      loaderAliases: { 'bootx64.efi': join(root, 'shim.signed') },
    },
    macForAddress: (address) => (address === '10.0.0.77' ? LEASED : undefined),
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Expect =
  | { ok: true; text?: string | RegExp; machineId?: string; step?: string; type?: string }
  | { ok: false; kind: 'not-found' | 'forbidden' };

const http = (path: string, extra: Partial<BootRequest> = {}): BootRequest => ({
  path,
  protocol: 'http',
  clientAddress: '10.0.0.5',
  serverAddress: '10.0.0.1:5248',
  ...extra,
});
const tftp = (path: string, extra: Partial<BootRequest> = {}): BootRequest => ({
  path,
  protocol: 'tftp',
  clientAddress: '10.0.0.5',
  serverAddress: '10.0.0.1',
  ...extra,
});

const cases: Record<string, [BootRequest, Expect]> = {
  'iPXE BIOS loader over TFTP': [
    tftp('undionly.kpxe'),
    { ok: true, text: 'kpxe', step: 'boot.nbp' },
  ],
  'iPXE EFI loader over HTTP': [http('/ipxe.efi'), { ok: true, text: 'efi!', step: 'boot.nbp' }],
  'loader from the second directory': [tftp('/pxelinux.0'), { ok: true, text: 'pxe0' }],
  'loader alias': [tftp('bootx64.efi'), { ok: true, text: 'shim', step: 'boot.nbp' }],
  'loader of a leased machine': [
    tftp('undionly.kpxe', { clientAddress: '10.0.0.77' }),
    { ok: true, machineId: 'm-2', step: 'boot.nbp' },
  ],
  'directory is not a loader': [tftp('subdir.efi'), { ok: false, kind: 'not-found' }],
  'missing loader': [tftp('nope.efi'), { ok: false, kind: 'not-found' }],
  'iPXE script by query': [
    http(`/ipxe/script?mac=${MAC}`),
    {
      ok: true,
      text: /^#!ipxe\n[\s\S]*\nkernel http:\/\/10\.0\.0\.1:5248\/images\//,
      machineId: 'm-1',
      step: 'boot.config',
    },
  ],
  'iPXE script by path, hyphen MAC': [
    http('/ipxe/52-54-00-12-34-56'),
    { ok: true, text: /ingot\.purpose=install/, machineId: 'm-1', step: 'boot.config' },
  ],
  'iPXE script with .ipxe suffix': [http(`/ipxe/${MAC}.ipxe`), { ok: true, machineId: 'm-1' }],
  'iPXE script for a local plan': [
    http(`/ipxe/${LEASED}`),
    { ok: true, text: /sanboot --no-describe --drive 0x80/, machineId: 'm-2' },
  ],
  'iPXE script for an unknown MAC': [
    http(`/ipxe/${UNKNOWN}`),
    { ok: true, text: /unknown MAC 52:54:00:99:99:99[\s\S]*sanboot/, step: 'boot.config' },
  ],
  'iPXE script without a MAC': [http('/ipxe/script'), { ok: true, text: /without a MAC/ }],
  'iPXE script by lease': [
    http('/ipxe/script', { clientAddress: '10.0.0.77' }),
    { ok: true, machineId: 'm-2' },
  ],
  'iPXE script with firmware base URL': [
    tftp(`/ipxe/${MAC}`, { serverAddress: undefined }),
    { ok: true, text: /kernel http:\/\/\$\{next-server\}:5248\/images\// },
  ],
  'iPXE script, TFTP server address gets the HTTP port': [
    tftp(`/ipxe/${MAC}`),
    { ok: true, text: /ingot\.agent=http:\/\/10\.0\.0\.1:5248 / },
  ],
  'iPXE script, hostile Host header ignored': [
    http(`/ipxe/${MAC}`, { serverAddress: 'evil\nchain http://x' }),
    { ok: true, text: /\$\{next-server\}/ },
  ],
  'iPXE bad MAC': [http('/ipxe/not-a-mac'), { ok: false, kind: 'not-found' }],
  'iPXE chain script': [http('/boot.ipxe'), { ok: true, text: /^#!ipxe\nchain ipxe\// }],
  'GRUB chain config': [tftp('/grub/grub.cfg'), { ok: true, text: /configfile/ }],
  'GRUB per-MAC config': [
    tftp(`/grub/grub.cfg-${MAC}`),
    {
      ok: true,
      text: new RegExp(`linux /images/${K} BOOTIF`),
      machineId: 'm-1',
      step: 'boot.config',
    },
  ],
  'GRUB per-MAC config, 01- form': [
    tftp('grub/grub.cfg-01-52-54-00-12-34-56'),
    { ok: true, machineId: 'm-1' },
  ],
  'GRUB firmware base URL': [
    tftp(`/grub/grub.cfg-${MAC}`, { serverAddress: undefined }),
    { ok: true, text: /ingot\.agent=http:\/\/\$\{net_default_server\}:5248 / },
  ],
  'pxelinux per-MAC config': [
    tftp('pxelinux.cfg/01-52-54-00-12-34-56'),
    { ok: true, text: /^DEFAULT ingot\n/, machineId: 'm-1', step: 'boot.config' },
  ],
  'pxelinux default by lease': [
    tftp('pxelinux.cfg/default', { clientAddress: '10.0.0.77' }),
    { ok: true, text: /LOCALBOOT 0/, machineId: 'm-2' },
  ],
  'pxelinux hex IP name walks on': [
    tftp('pxelinux.cfg/0A000005'),
    { ok: false, kind: 'not-found' },
  ],
  'pxelinux without a server address': [
    tftp('pxelinux.cfg/01-52-54-00-12-34-56', { serverAddress: undefined }),
    { ok: false, kind: 'not-found' },
  ],
  'kernel by hash': [
    http(`/images/${K}?mac=${MAC}`),
    {
      ok: true,
      text: 'kernel',
      machineId: 'm-1',
      step: 'boot.kernel',
      type: 'application/octet-stream',
    },
  ],
  'initrd by hash over TFTP, leased': [
    tftp(`/images/${I}`, { clientAddress: '10.0.0.77' }),
    { ok: true, text: 'initrd', machineId: 'm-2', step: 'boot.initrd' },
  ],
  'squashfs by hash': [
    http(`/images/${S}?mac=${MAC}`),
    { ok: true, text: 'squashfs', machineId: 'm-1', step: 'boot.squashfs' },
  ],
  'image fetched by an unknown client': [http(`/images/${S}`), { ok: true, text: 'squashfs' }],
  'image hash in upper case': [http(`/images/${S.toUpperCase()}`), { ok: true, text: 'squashfs' }],
  'image not in the cache': [http(`/images/${'e'.repeat(64)}`), { ok: false, kind: 'not-found' }],
  'image name not a hash': [http('/images/vmlinuz'), { ok: false, kind: 'not-found' }],
  'image symlink leaving the cache': [
    http(`/images/${'d'.repeat(64)}`),
    { ok: false, kind: 'forbidden' },
  ],
  'traversal out of images': [http('/images/../outside/secret'), { ok: false, kind: 'forbidden' }],
  'encoded traversal': [tftp('images/%2e%2e/outside/secret'), { ok: false, kind: 'forbidden' }],
  'unknown path': [http('/etc/passwd'), { ok: false, kind: 'not-found' }],
};

describe('createBootResolver', () => {
  it.each(Object.entries(cases))('%s', async (_name, [request, expected]) => {
    const result = await resolver.resolve(request);
    if (!expected.ok) {
      expect(result).toMatchObject({ ok: false, error: { kind: expected.kind } });
      return;
    }
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const file = result.value;
    const bytes =
      file.content.kind === 'bytes'
        ? Buffer.from(file.content.data)
        : (await import('node:fs')).readFileSync(file.content.path);
    expect(file.sizeBytes).toBe(bytes.length);
    if (typeof expected.text === 'string') expect(bytes.toString()).toBe(expected.text);
    if (expected.text instanceof RegExp) expect(bytes.toString()).toMatch(expected.text);
    if ('machineId' in expected) expect(file.machineId).toBe(expected.machineId);
    if ('step' in expected) expect(file.step).toBe(expected.step);
    if (expected.type !== undefined) expect(file.contentType).toBe(expected.type);
  });

  it('answers configs from httpBaseUrl when configured', async () => {
    const fixed = createBootResolver({
      store: { bootPlanByMac: (mac) => PLANS.get(mac) },
      logger: silentLogger,
      config: { imageDir: root, httpBaseUrl: 'http://boot.example:8080/' },
    });
    const result = await fixed.resolve(tftp(`pxelinux.cfg/01-${MAC.replaceAll(':', '-')}`));
    expect(result.ok).toBe(true);
    if (!result.ok || result.value.content.kind !== 'bytes') return;
    expect(Buffer.from(result.value.content.data).toString()).toContain(
      'ingot.agent=http://boot.example:8080 ',
    );
  });
});
