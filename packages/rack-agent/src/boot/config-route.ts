/**
 * The route for generated per-machine boot configs (DESIGN.md §3 step 6).
 *
 * | path                                           | answer                                  |
 * |------------------------------------------------|-----------------------------------------|
 * | `boot.ipxe`                                    | iPXE chain to `ipxe/${netX/mac}`        |
 * | `ipxe/script?mac=<mac>`, `ipxe/<mac>[.ipxe]`   | the machine's iPXE script               |
 * | `grub/grub.cfg`                                | GRUB chain to `grub.cfg-${net_default_mac}` |
 * | `grub/grub.cfg-<mac>`, `grub/grub.cfg-01-<mac>` | the machine's GRUB config (MAAS naming) |
 * | `pxelinux.cfg/01-<mac>`, `pxelinux.cfg/default` | the machine's pxelinux config           |
 *
 * Any other `pxelinux.cfg/*` name (UUID, hex IP) is `not-found`, so pxelinux walks on to
 * `default` as its search order expects. A MAC without a plan gets a config that says so and
 * boots the local disk: enlisting it is DHCP's job.
 */
import { err, ok, type Result } from '@ingot/common';
import type { BootPlan } from '../domain/boot-plan.ts';
import { parseMacAddress, type MacAddress } from '../domain/mac-address.ts';
import {
  renderGrubChainConfig,
  renderGrubConfig,
  renderIpxeChainScript,
  renderIpxeScript,
  renderPxelinuxConfig,
  type BootConfigInput,
} from './boot-config.ts';
import type { BootFileRoute, RoutedBootRequest } from './boot-route.ts';
import type { BootError, BootRequest, ResolvedBootFile } from './resolver.ts';

/** Boot config syntaxes the agent renders. */
export type BootConfigFormat = 'ipxe' | 'grub' | 'pxelinux';

/** What {@link createConfigRoute} needs. */
export interface ConfigRouteDeps {
  readonly planByMac: (mac: MacAddress) => BootPlan | undefined;
  /**
   * The agent's HTTP base URL for this request in this format, or `undefined` when none can be
   * given (the route then answers `not-found`: a config pointing nowhere is worse than none).
   */
  readonly baseUrl: (request: BootRequest, format: BootConfigFormat) => string | undefined;
}

const TEXT = 'text/plain; charset=utf-8';

/** Creates the per-machine config route; see the module comment for its paths. */
export function createConfigRoute(deps: ConfigRouteDeps): BootFileRoute {
  const render = (
    routed: RoutedBootRequest,
    format: BootConfigFormat,
    pathMac: MacAddress | undefined,
  ): Result<ResolvedBootFile, BootError> => {
    const mac = pathMac ?? routed.mac;
    const plan = pathMac === undefined ? routed.plan() : deps.planByMac(pathMac);
    const baseUrl = deps.baseUrl(routed.request, format);
    if (baseUrl === undefined) return err({ kind: 'not-found', path: routed.path.path });
    const input: BootConfigInput = { plan, mac, baseUrl };
    const text =
      format === 'ipxe'
        ? renderIpxeScript(input)
        : format === 'grub'
          ? renderGrubConfig(input)
          : renderPxelinuxConfig(input);
    return ok(textFile(text, plan?.machineId, 'boot.config'));
  };

  return {
    name: 'config',
    tryResolve(routed) {
      const [first, second, ...rest] = routed.path.segments;
      if (first === 'boot.ipxe' && second === undefined) {
        return Promise.resolve(ok(textFile(renderIpxeChainScript(), undefined, undefined)));
      }
      if (first !== 'ipxe' && first !== 'grub' && first !== 'pxelinux.cfg') {
        return Promise.resolve(undefined);
      }
      const notFound = err({ kind: 'not-found', path: routed.path.path } as const);
      if (second === undefined || rest.length > 0) return Promise.resolve(notFound);

      if (first === 'ipxe') {
        if (second === 'script') return Promise.resolve(render(routed, 'ipxe', undefined));
        const mac = parseMacAddress(second.replace(/\.ipxe$/, ''));
        return Promise.resolve(mac === undefined ? notFound : render(routed, 'ipxe', mac));
      }
      if (first === 'grub') {
        if (second === 'grub.cfg') {
          return Promise.resolve(ok(textFile(renderGrubChainConfig(), undefined, undefined)));
        }
        const match = /^grub\.cfg-(?:01-)?(.+)$/.exec(second);
        const mac = match?.[1] === undefined ? undefined : parseMacAddress(match[1]);
        return Promise.resolve(mac === undefined ? notFound : render(routed, 'grub', mac));
      }
      if (second === 'default') return Promise.resolve(render(routed, 'pxelinux', undefined));
      // pxelinux asks `01-<mac>` first (ARP hardware type 1 = Ethernet), then UUID, IP, default.
      const match = /^01-(.+)$/.exec(second);
      const mac = match?.[1] === undefined ? undefined : parseMacAddress(match[1]);
      return Promise.resolve(mac === undefined ? notFound : render(routed, 'pxelinux', mac));
    },
  };
}

function textFile(
  text: string,
  machineId: string | undefined,
  step: string | undefined,
): ResolvedBootFile {
  const data = new TextEncoder().encode(text);
  return {
    content: { kind: 'bytes', data },
    sizeBytes: data.byteLength,
    contentType: TEXT,
    machineId,
    step,
  };
}
