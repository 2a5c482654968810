/**
 * PXE and iPXE: which boot file a client gets and the options that make firmware accept it
 * quickly. Sources: RFC 4578 (options 93/94/97), Intel PXE spec 2.1 §2.4 (option 43), UEFI 2.x
 * §24.7 (HTTP boot, `HTTPClient`), iPXE's option 175 (https://ipxe.org/howto/dhcpd).
 */
import type { MacAddress } from '../../domain/mac-address.ts';
import {
  clientArchitectures,
  clientUuid,
  encodeSubOptions,
  findOption,
  IPXE_NO_PXEDHCP,
  OPT_CLIENT_UUID,
  OPT_IPXE_ENCAPSULATED,
  OPT_VENDOR_CLASS,
  OPT_VENDOR_SPECIFIC,
  optionData,
  PXE_DISCOVERY_CONTROL,
  PXE_DISCOVERY_USE_FILENAME,
  textOption,
  userClasses,
  type DhcpOption,
} from '../codec/options.ts';
import type { DhcpMessage } from '../codec/message.ts';
import type { CompiledNetwork } from './network.ts';

/** What a request says about the client's network-boot firmware. */
export interface BootClient {
  /** RFC 4578 arch code, 0 when absent (BIOS sends 0 anyway). */
  readonly arch: number;
  readonly vendorClass: string;
  /** `PXEClient…` vendor class: PXE ROM or UEFI PXE. */
  readonly pxe: boolean;
  /** `HTTPClient…` vendor class: UEFI HTTP boot. */
  readonly http: boolean;
  /** User class `iPXE`: already running iPXE, give it the script. */
  readonly ipxe: boolean;
  readonly uuid: string | undefined;
}

/** Reads the boot-related options of a request. */
export function bootClientOf(message: DhcpMessage): BootClient {
  const vendorClass = textOption(message.options, OPT_VENDOR_CLASS) ?? '';
  return {
    arch: clientArchitectures(message.options)[0] ?? 0,
    vendorClass,
    pxe: vendorClass.startsWith('PXEClient'),
    http: vendorClass.startsWith('HTTPClient'),
    ipxe: userClasses(message.options).includes('iPXE'),
    uuid: clientUuid(message.options),
  };
}

/** Whether the client is network-booting at all (and so may get boot options or be enlisted). */
export function isNetworkBoot(client: BootClient): boolean {
  return client.pxe || client.http || client.ipxe;
}

/** The boot part of a reply. */
export interface BootAnswer {
  readonly file: string;
  readonly siaddr: string;
  readonly options: DhcpOption[];
}

/**
 * The boot file and options for `client`, or `undefined` when its arch has no loader (the client
 * still gets an address; it just will not network-boot). `agent` is the agent's address on the
 * client's subnet, used as next-server and in URLs.
 */
export function bootAnswer(
  client: BootClient,
  request: DhcpMessage,
  mac: MacAddress,
  agent: string,
  network: CompiledNetwork,
): BootAnswer | undefined {
  if (!isNetworkBoot(client)) return undefined;
  const expand = (template: string, file = ''): string =>
    template
      .replaceAll('{agent}', agent)
      .replaceAll('{mac}', mac)
      .replaceAll('{arch}', String(client.arch))
      .replaceAll('{file}', file);
  const options: DhcpOption[] = [];
  if (client.ipxe) {
    // iPXE waits 3 s for a ProxyDHCP offer after seeing PXE options unless told not to.
    options.push({
      code: OPT_IPXE_ENCAPSULATED,
      data: encodeSubOptions([{ code: IPXE_NO_PXEDHCP, data: optionData.u8(1) }]),
    });
    return { file: expand(network.ipxeScriptUrl), siaddr: agent, options };
  }
  const loader = network.bootFiles[client.arch];
  if (loader === undefined) return undefined;
  if (client.http) {
    // UEFI 2.x §24.7.2: the reply must carry `HTTPClient` in option 60, the URI in `file`.
    options.push({ code: OPT_VENDOR_CLASS, data: optionData.text('HTTPClient') });
    return { file: expand(network.httpBootUrl, loader), siaddr: agent, options };
  }
  // PXE spec §2.4: 60 `PXEClient` marks a PXE-aware reply; 43.6 = 8 tells the ROM to boot the
  // file named here instead of running boot-server discovery on port 4011.
  options.push({ code: OPT_VENDOR_CLASS, data: optionData.text('PXEClient') });
  options.push({
    code: OPT_VENDOR_SPECIFIC,
    data: encodeSubOptions([
      { code: PXE_DISCOVERY_CONTROL, data: optionData.u8(PXE_DISCOVERY_USE_FILENAME) },
    ]),
  });
  // PXE spec §2.4: a client that sent its UUID (97) expects it back from a PXE server.
  const uuid = findOption(request.options, OPT_CLIENT_UUID);
  if (uuid !== undefined) options.push({ code: OPT_CLIENT_UUID, data: uuid });
  return { file: loader, siaddr: agent, options };
}
