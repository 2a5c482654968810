/**
 * `?op=deploy` and `?op=release` parameters in Ingot's terms: `distro_series` (and `osystem`)
 * name an imported image, `user_data` is base64 as MAAS takes it, `hwe_kernel` is the kernel,
 * `ephemeral_deploy` deploys in memory; `erase`/`quick_erase`/`secure_erase` pick the wipe.
 */
import type { DeployInput } from '../../app/machine-inputs.ts';
import type { BootResource } from '../../domain/image/boot-resource.ts';
import { COMMISSIONING_IMAGE } from '../../domain/image/boot-resource.ts';
import type { EraseMode } from '../../domain/machine/machine.ts';
import type { MaasParams } from './form-params.ts';
import { MaasError } from './maas-error.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether MAAS clients see an image: every one but Ingot's own commissioning environment. */
export function isDeployable(image: Pick<BootResource, 'os' | 'release'>): boolean {
  return !(image.os === COMMISSIONING_IMAGE.os && image.release === COMMISSIONING_IMAGE.release);
}

/** Decodes MAAS's base64 `user_data`; 400 when it is not base64. */
export function decodeUserData(raw: string): string {
  const compact = raw.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) {
    throw new MaasError(400, 'user_data: must be base64-encoded.');
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * The image `distro_series` names: `os/release`, or a release alone when one imported OS has it;
 * with neither, the only deployable image for the machine's architecture.
 */
export function resolveSeries(
  series: string | undefined,
  osystem: string | undefined,
  images: readonly BootResource[],
  arch: string,
): { os: string; release: string } {
  const deployable = images.filter((i) => isDeployable(i) && i.arch === arch);
  const names = [...new Set(deployable.map((i) => `${i.os}/${i.release}`))].sort();
  if (series === undefined || series === '') {
    const only = names.length === 1 ? names[0] : undefined;
    if (only === undefined) {
      throw new MaasError(
        400,
        `distro_series: give one of ${names.join(', ') || '(no image is imported)'}.`,
      );
    }
    const [os = '', release = ''] = only.split('/');
    return { os, release };
  }
  const slash = series.indexOf('/');
  if (slash > 0) return { os: series.slice(0, slash), release: series.slice(slash + 1) };
  if (osystem !== undefined && osystem !== '') return { os: osystem, release: series };
  const oses = [...new Set(deployable.filter((i) => i.release === series).map((i) => i.os))];
  const os = oses.length === 1 ? oses[0] : undefined;
  if (os === undefined) {
    throw new MaasError(
      400,
      oses.length === 0
        ? `distro_series: no imported image is release ${series} (imported: ${names.join(', ') || 'none'}).`
        : `distro_series: ${series} is ambiguous; give os/${series}.`,
    );
  }
  return { os, release: series };
}

/** The deploy the parameters ask for. */
export function deployInput(
  p: MaasParams,
  images: readonly BootResource[],
  arch: string,
): DeployInput {
  const { os, release } = resolveSeries(p.one('distro_series'), p.one('osystem'), images, arch);
  const userData = p.one('user_data');
  const kernel = p.one('hwe_kernel');
  return {
    os,
    release,
    kernel: kernel === undefined || kernel === '' ? undefined : kernel,
    userData: userData === undefined || userData === '' ? undefined : decodeUserData(userData),
    ephemeral: p.bool('ephemeral_deploy'),
  };
}

/** The disk wipe a release asks for: none, `quick` (`quick_erase`), or `full`. */
export function releaseErase(p: MaasParams): EraseMode | undefined {
  if (!p.bool('erase')) return undefined;
  return p.bool('quick_erase') ? 'quick' : 'full';
}
