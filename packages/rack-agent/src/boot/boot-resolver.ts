/**
 * The agent's {@link BootResolver}: normalise once, identify the client once, then ask an
 * ordered chain of routes — network boot programs, generated configs, image files.
 */
import { err, type Logger } from '@ingot/common';
import type { BootPlan } from '../domain/boot-plan.ts';
import { parseMacAddress, type MacAddress } from '../domain/mac-address.ts';
import type { AgentStore } from '../state/agent-store.ts';
import { normaliseBootPath } from './boot-path.ts';
import type { BootFileRoute, RoutedBootRequest } from './boot-route.ts';
import { createConfigRoute, type BootConfigFormat } from './config-route.ts';
import {
  createImageRoute,
  createLoaderRoute,
  DEFAULT_LOADER_ALIASES,
  DEFAULT_LOADER_DIRS,
  type ImageFileSource,
} from './file-routes.ts';
import type { BootRequest, BootResolver } from './resolver.ts';

/** Where boot files come from and how machines reach the agent. */
export interface BootResolverConfig {
  /** Image cache directory served as `images/<sha256>`. */
  readonly imageDir: string;
  /** Network boot program directories, searched in order; default {@link DEFAULT_LOADER_DIRS}. */
  readonly loaderDirs?: readonly string[] | undefined;
  /** Loader names mapped to files; default {@link DEFAULT_LOADER_ALIASES}. */
  readonly loaderAliases?: Readonly<Record<string, string>> | undefined;
  /** The agent's HTTP boot port, for URLs built from a bare server address. Default 5248. */
  readonly httpPort?: number | undefined;
  /**
   * A fixed HTTP base URL for every config (`http://boot.example:5248`). When unset, the URL is
   * built from the address the client reached us at (`BootRequest.serverAddress`), else left to
   * the firmware (`${next-server}` in iPXE, `${net_default_server}` in GRUB).
   */
  readonly httpBaseUrl?: string | undefined;
}

/** What {@link createBootResolver} needs. */
export interface BootResolverDeps {
  readonly store: Pick<AgentStore, 'bootPlanByMac'>;
  readonly logger: Logger;
  readonly config: BootResolverConfig;
  /** Verified image files (the image cache); without it `imageDir` is read as it is. */
  readonly images?: ImageFileSource | undefined;
  /** The MAC holding a DHCP lease for an IP (TFTP requests carry no MAC); wired to DHCP. */
  readonly macForAddress?: ((address: string) => MacAddress | undefined) | undefined;
}

/** Default HTTP boot port (DESIGN.md §1). */
const DEFAULT_HTTP_PORT = 5248;
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Creates the resolver TFTP and HTTP boot share. Routes, in order: loaders (single names from
 * `loaderAliases` and `loaderDirs`, step `boot.nbp`), configs (see `config-route.ts`, step
 * `boot.config`), images (`images/<sha256>`, step by the file's role in the machine's plan).
 * Every path is normalised by `normaliseBootPath` first; what it refuses is `forbidden`, what
 * no route owns is `not-found`. Never rejects for a client's input.
 */
export function createBootResolver(deps: BootResolverDeps): BootResolver {
  const { config } = deps;
  const port = config.httpPort ?? DEFAULT_HTTP_PORT;
  const planByMac = (mac: MacAddress): BootPlan | undefined => deps.store.bootPlanByMac(mac);
  const routes: readonly BootFileRoute[] = [
    createLoaderRoute(
      config.loaderDirs ?? DEFAULT_LOADER_DIRS,
      config.loaderAliases ?? DEFAULT_LOADER_ALIASES,
    ),
    createConfigRoute({ planByMac, baseUrl: (request, format) => baseUrl(request, format) }),
    createImageRoute(config.imageDir, deps.images),
  ];

  const baseUrl = (request: BootRequest, format: BootConfigFormat): string | undefined => {
    if (config.httpBaseUrl !== undefined) return config.httpBaseUrl.replace(/\/+$/, '');
    const server = request.serverAddress;
    if (server !== undefined && HOST.test(server)) {
      const hasPort = /:\d+$/.test(server) && (!server.includes('[') || server.includes(']:'));
      return `http://${hasPort ? server : `${server}:${port}`}`;
    }
    if (server !== undefined && /^[0-9A-Fa-f:.]+$/.test(server))
      return `http://[${server}]:${port}`;
    switch (format) {
      case 'ipxe':
        return `http://\${next-server}:${port}`;
      case 'grub':
        return `http://\${net_default_server}:${port}`;
      case 'pxelinux':
        // pxelinux expands no variables: without an address the config cannot name the agent.
        return undefined;
    }
  };

  return {
    async resolve(request) {
      const path = normaliseBootPath(request.path);
      if (!path.ok) {
        if (path.error.kind === 'forbidden') {
          deps.logger.warn('boot path refused', {
            protocol: request.protocol,
            client: request.clientAddress,
            path: path.error.path,
            reason: path.error.reason,
          });
        }
        return path;
      }
      const mac =
        parseMacAddress(request.mac ?? '') ??
        parseMacAddress(path.value.query.get('mac') ?? '') ??
        deps.macForAddress?.(request.clientAddress);
      let plan: { value: BootPlan | undefined } | undefined;
      const routed: RoutedBootRequest = {
        request,
        path: path.value,
        mac,
        plan: () => {
          plan ??= { value: mac === undefined ? undefined : planByMac(mac) };
          return plan.value;
        },
      };
      for (const route of routes) {
        const answer = await route.tryResolve(routed);
        if (answer !== undefined) return answer;
      }
      return err({ kind: 'not-found', path: path.value.path });
    },
  };
}
