/**
 * The install config (docs/deploy-contract.md "Install config"): everything the installer or the
 * ephemeral environment needs to do a machine's job, as one JSON document. Pure: built from the
 * machine, its image, its owner's keys and the agent URL the request came through.
 */
import type { BootResource, BootResourceFile } from '../image/boot-resource.ts';
import { rootImageFormat, type RootImageFormat } from '../image/boot-resource.ts';
import type { Machine } from '../machine/machine.ts';

/** What the boot environment is for. */
export type InstallPurpose = 'install' | 'ephemeral' | 'commission' | 'erase';

/** A file by hash, relative to the agent's base URL. */
export interface ImageFileRef {
  readonly path: string;
  readonly sha256: string;
}

/** The install config document (the contract's JSON, field for field). */
export interface InstallConfig {
  readonly machine_id: string;
  readonly hostname: string;
  readonly purpose: InstallPurpose;
  readonly image: {
    readonly os: string;
    readonly release: string;
    readonly arch: string;
    readonly root_image:
      (ImageFileRef & { readonly size_bytes: number; readonly format: RootImageFormat }) | null;
    readonly kernel: ImageFileRef | null;
    readonly initrd: ImageFileRef | null;
  } | null;
  readonly storage: { readonly disk: string; readonly layout: 'flat' };
  readonly erase: 'none' | 'quick' | 'full';
  readonly cloud_init: { readonly metadata_url: string; readonly token: string };
  readonly ssh_keys: readonly string[];
  readonly customisation: {
    readonly packages: readonly string[];
    readonly commands: readonly string[];
    readonly files: readonly {
      readonly path: string;
      readonly content_base64: string;
      readonly mode: string;
    }[];
  };
}

/** What {@link buildInstallConfig} reads. */
export interface InstallConfigInput {
  readonly machine: Machine;
  /** The image the purpose boots or installs; undefined when none is registered. */
  readonly image: BootResource | undefined;
  readonly sshKeys: readonly string[];
  /** The agent's base URL as the machine reached it, e.g. `http://10.0.0.1:5248`. */
  readonly agentBaseUrl: string;
  /** The token the request authenticated with. */
  readonly token: string;
}

const NETWORK_PURPOSES: ReadonlySet<string> = new Set([
  'install',
  'ephemeral',
  'commission',
  'erase',
]);

/**
 * What the machine's boot environment is for: its boot plan's purpose while that is a network
 * boot, else what its status says (a deployed machine's plan is back to `local`).
 */
export function installPurpose(machine: Machine): InstallPurpose {
  const planned: string | null = machine.bootPurpose;
  if (planned !== null && NETWORK_PURPOSES.has(planned)) return planned as InstallPurpose;
  if (machine.status === 'commissioning') return 'commission';
  if (machine.status === 'releasing') return 'erase';
  return machine.deployment?.ephemeral === true ? 'ephemeral' : 'install';
}

function ref(file: BootResourceFile | undefined): ImageFileRef | null {
  return file === undefined ? null : { path: `images/${file.sha256}`, sha256: file.sha256 };
}

/** Builds the document. */
export function buildInstallConfig(input: InstallConfigInput): InstallConfig {
  const { machine, image } = input;
  const deployment = machine.deployment;
  const root =
    image?.files.find((f) => f.role === 'root-image') ??
    image?.files.find((f) => f.role === 'squashfs');
  const custom = deployment?.customisation;
  return {
    machine_id: machine.id,
    hostname: machine.hostname,
    purpose: installPurpose(machine),
    image:
      image === undefined
        ? null
        : {
            os: image.os,
            release: image.release,
            arch: image.arch,
            root_image:
              root === undefined
                ? null
                : {
                    path: `images/${root.sha256}`,
                    sha256: root.sha256,
                    size_bytes: root.sizeBytes,
                    format: rootImageFormat(root) ?? 'squashfs',
                  },
            kernel: ref(image.files.find((f) => f.role === 'kernel')),
            initrd: ref(image.files.find((f) => f.role === 'initrd')),
          },
    storage: { disk: 'auto', layout: 'flat' },
    erase: deployment?.erase ?? 'none',
    cloud_init: {
      metadata_url: `${input.agentBaseUrl.replace(/\/+$/, '')}/MAAS/metadata/`,
      token: input.token,
    },
    ssh_keys: input.sshKeys,
    customisation: {
      packages: custom?.packages ?? [],
      commands: custom?.commands ?? [],
      files: (custom?.files ?? []).map((f) => ({
        path: f.path,
        content_base64: f.contentBase64,
        mode: f.mode,
      })),
    },
  };
}
