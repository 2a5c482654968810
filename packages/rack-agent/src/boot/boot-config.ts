/**
 * Per-machine boot configs (DESIGN.md §3 step 6): iPXE scripts, GRUB configs and pxelinux
 * configs rendered from a machine's boot plan. Pure functions of their input: no I/O, no clock;
 * golden-text tests pin their output.
 *
 * Kernel command line handed to the ephemeral environment (Ingot's initramfs reads it):
 *
 * | parameter         | value                                                       |
 * |-------------------|-------------------------------------------------------------|
 * | `BOOTIF`          | `01-<mac with dashes>`: the NIC that booted (pxelinux style) |
 * | `ingot.purpose`   | `install` / `commission` / `ephemeral` / `rescue`           |
 * | `ingot.machine`   | the machine id                                              |
 * | `ingot.agent`     | the agent's HTTP base URL (events: `/api/v1/machine-events`) |
 * | `ingot.squashfs`  | URL of the root squashfs through the agent                  |
 * | `ingot.metadata`  | metadata service through the agent (`/MAAS/metadata/`)      |
 * | `ingot.token`     | the machine's metadata token (a secret: never logged)       |
 */
import type { BootFile, BootPlan } from '../domain/boot-plan.ts';
import type { MacAddress } from '../domain/mac-address.ts';

/** What a config is rendered from. */
export interface BootConfigInput {
  /** The machine's plan; `undefined` for a MAC this rack does not know. */
  readonly plan?: BootPlan | undefined;
  /** The booting NIC, when known. */
  readonly mac?: MacAddress | undefined;
  /**
   * The agent's HTTP base URL as the machine reaches it (`http://10.0.0.1:5248`), or a
   * firmware-variable form (`http://${next-server}:5248`) the boot loader expands itself.
   */
  readonly baseUrl: string;
}

/** Path prefix of content-addressed image files, served by HTTP and TFTP alike. */
export const IMAGES_PREFIX = 'images';
/** Path prefix of the metadata reverse proxy on the agent. */
export const METADATA_PATH = '/MAAS/metadata/';

/** What the renderers agree to boot; computed once, then written in each loader's syntax. */
type BootChoice =
  | {
      readonly kind: 'network';
      readonly title: string;
      readonly kernel: BootFile;
      readonly initrd: BootFile;
      readonly params: string;
    }
  | { readonly kind: 'local'; readonly title: string };

/** Characters allowed in plan-supplied kernel parameters: none is special to iPXE or GRUB. */
const SAFE_PARAMS = /^[A-Za-z0-9 ._~:/=,+@%#^!*()[\]-]*$/;
/** Machine ids and metadata tokens (`<consumer>:<token>:<secret>`, MAAS's form; ':' is inert). */
const SAFE_TOKEN = /^[A-Za-z0-9._~+/=:-]*$/;

/**
 * Renders an iPXE script (`#!ipxe`). Network boots fetch kernel and initrd over HTTP from
 * `baseUrl` with `?mac=` so the agent can attribute the fetch; `initrd=initrd` lets the EFI stub
 * find the initrd iPXE registered under that name. Local boots `sanboot` the first BIOS disk and
 * `exit` to the firmware's next boot device under UEFI (MAAS does the same).
 */
export function renderIpxeScript(input: BootConfigInput): string {
  const choice = chooseBoot(input, true);
  const head = ['#!ipxe', `# ${choice.title}`, `echo ${choice.title}`];
  if (choice.kind === 'local') {
    return lines([
      ...head,
      'iseq ${platform} efi && goto local_exit ||',
      'sanboot --no-describe --drive 0x80 || goto local_exit',
      ':local_exit',
      'exit',
    ]);
  }
  const macQuery = input.mac === undefined ? '' : `?mac=${input.mac}`;
  const url = (file: BootFile): string =>
    `${input.baseUrl}/${IMAGES_PREFIX}/${file.sha256}${macQuery}`;
  return lines([
    ...head,
    `kernel ${url(choice.kernel)} initrd=initrd ${choice.params} || goto failed`,
    `initrd --name initrd ${url(choice.initrd)} || goto failed`,
    'boot || goto failed',
    ':failed',
    'echo Ingot: network boot failed, rebooting in 10 s',
    'sleep 10',
    'reboot',
  ]);
}

/**
 * Renders a GRUB config. Kernel and initrd come from GRUB's own root, the TFTP server that
 * served GRUB (GRUB 2.06, Debian bookworm's, cannot give an HTTP port). Local boots chainload
 * the first EFI loader found on a local ESP, else `exit` to the firmware.
 */
export function renderGrubConfig(input: BootConfigInput): string {
  const choice = chooseBoot(input, false);
  const head = ['set default=0', 'set timeout=0', '', `menuentry '${choice.title}' {`];
  if (choice.kind === 'local') {
    return lines([
      ...head,
      `    echo '${choice.title}'`,
      '    for loader in /efi/debian/shimx64.efi /efi/debian/grubx64.efi /efi/boot/bootx64.efi; do',
      '        if search --no-floppy --set=root --file $loader; then',
      '            chainloader $loader',
      '            boot',
      '        fi',
      '    done',
      '    exit',
      '}',
    ]);
  }
  return lines([
    ...head,
    "    echo 'Loading kernel...'",
    `    linux /${IMAGES_PREFIX}/${choice.kernel.sha256} ${choice.params}`,
    "    echo 'Loading initrd...'",
    `    initrd /${IMAGES_PREFIX}/${choice.initrd.sha256}`,
    '}',
  ]);
}

/**
 * Renders a pxelinux config (`pxelinux.cfg/01-<mac>`). Kernel and initrd come over TFTP;
 * local boots use `LOCALBOOT 0`.
 */
export function renderPxelinuxConfig(input: BootConfigInput): string {
  const choice = chooseBoot(input, false);
  const head = ['PROMPT 0', 'TIMEOUT 0', `SAY ${choice.title}`];
  if (choice.kind === 'local') {
    return lines(['DEFAULT local', ...head, 'LABEL local', '  LOCALBOOT 0']);
  }
  return lines([
    'DEFAULT ingot',
    ...head,
    'LABEL ingot',
    `  KERNEL /${IMAGES_PREFIX}/${choice.kernel.sha256}`,
    `  INITRD /${IMAGES_PREFIX}/${choice.initrd.sha256}`,
    `  APPEND ${choice.params}`,
  ]);
}

/**
 * The iPXE script every iPXE may start from (`boot.ipxe`): chains to the per-machine script by
 * its own MAC, relative to where it was loaded from (TFTP or HTTP: both use this resolver).
 */
export function renderIpxeChainScript(): string {
  return lines(['#!ipxe', 'chain ipxe/${netX/mac} || exit']);
}

/**
 * The GRUB config GRUB loads first (`grub/grub.cfg`): hands over to the per-machine config by
 * the MAC GRUB booted from, as MAAS does.
 */
export function renderGrubChainConfig(): string {
  return lines(['set default=0', 'set timeout=0', 'configfile /grub/grub.cfg-${net_default_mac}']);
}

/**
 * Builds the kernel command line for a network boot of `plan` (see the module comment).
 * `squashfs` is omitted when the plan has none. `macInUrls` appends `?mac=` to agent URLs so the
 * agent can attribute fetches without a lease (iPXE only: GRUB may glob a `?`).
 */
export function kernelCommandLine(
  plan: BootPlan,
  mac: MacAddress | undefined,
  baseUrl: string,
  macInUrls: boolean,
): string {
  const squashfs = findFile(
    plan,
    plan.purpose === 'ephemeral' ? ['squashfs', 'root-image'] : ['squashfs'],
  );
  const macQuery = mac === undefined || !macInUrls ? '' : `?mac=${mac}`;
  const params = [
    ...(mac === undefined ? [] : [`BOOTIF=01-${mac.replaceAll(':', '-')}`]),
    'ip=dhcp',
    `ingot.purpose=${plan.purpose}`,
    `ingot.machine=${plan.machineId}`,
    `ingot.agent=${baseUrl}`,
    ...(squashfs === undefined
      ? []
      : [`ingot.squashfs=${baseUrl}/${IMAGES_PREFIX}/${squashfs.sha256}${macQuery}`]),
    `ingot.metadata=${baseUrl}${METADATA_PATH}`,
    `ingot.token=${plan.metadataToken}`,
  ];
  const extra = plan.kernelParams.trim();
  return extra === '' ? params.join(' ') : `${params.join(' ')} ${extra}`;
}

function chooseBoot(input: BootConfigInput, macInUrls: boolean): BootChoice {
  const { plan, mac } = input;
  if (plan === undefined) {
    const who = mac === undefined ? 'a machine without a MAC in its request' : `unknown MAC ${mac}`;
    return local(`Ingot: ${who} (DHCP enlists new machines), booting the local disk`);
  }
  const name = `${safeText(plan.hostname)} (${safeText(plan.machineId)})`;
  if (plan.purpose === 'local') return local(`Ingot: ${name} boots its local disk`);
  // Plans come from the controller, but a newline or `$` in them would rewrite the script.
  if (!SAFE_PARAMS.test(plan.kernelParams) || !SAFE_TOKEN.test(plan.metadataToken)) {
    return local(
      `Ingot: boot plan of ${name} has unsafe kernel parameters, booting the local disk`,
    );
  }
  if (!SAFE_TOKEN.test(plan.machineId)) {
    return local(`Ingot: boot plan of ${name} has an unsafe machine id, booting the local disk`);
  }
  const kernel = findFile(plan, ['kernel']);
  const initrd = findFile(plan, ['initrd']);
  if (kernel === undefined || initrd === undefined) {
    return local(`Ingot: boot plan of ${name} lacks a kernel or initrd, booting the local disk`);
  }
  const what = `${safeText(plan.os)} ${safeText(plan.release)} ${safeText(plan.arch)}`;
  return {
    kind: 'network',
    title: `Ingot: ${plan.purpose} ${what} on ${name}`,
    kernel,
    initrd,
    params: kernelCommandLine(plan, mac, input.baseUrl, macInUrls),
  };
}

function local(title: string): BootChoice {
  return { kind: 'local', title };
}

function findFile(plan: BootPlan, roles: readonly string[]): BootFile | undefined {
  for (const role of roles) {
    const file = plan.files.find((f) => f.role === role && /^[0-9a-f]{64}$/.test(f.sha256));
    if (file !== undefined) return file;
  }
  return undefined;
}

/** Text shown in titles and echoes: anything a loader might interpret becomes `_`. */
function safeText(text: string): string {
  return text.replace(/[^A-Za-z0-9._:-]/g, '_');
}

function lines(all: readonly string[]): string {
  return `${all.join('\n')}\n`;
}
