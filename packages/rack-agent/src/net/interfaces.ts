import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { Logger } from '@ingot/common';
import type { AgentInterface } from '../domain/identity.ts';
import { parseMacAddress } from '../domain/mac-address.ts';

/** The OS view of interfaces, as `os.networkInterfaces()` returns it; injectable for tests. */
export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

/**
 * Describes the configured interfaces (name, MAC, addresses) for Register and Hello. A name the
 * OS does not know is still reported, with no MAC or addresses, and logged: the interface may
 * come up later, and the controller should see what the operator asked for.
 */
export function describeInterfaces(
  names: readonly string[],
  logger: Logger,
  table: InterfaceTable = networkInterfaces(),
): AgentInterface[] {
  return names.map((name) => {
    const addresses = table[name];
    if (addresses === undefined || addresses.length === 0) {
      logger.warn('configured interface not found', { interface: name });
      return { name, mac: '', cidrs: [] };
    }
    const mac = addresses
      .map((address) => parseMacAddress(address.mac))
      .find((m) => m !== undefined);
    const cidrs = addresses
      .map((address) => address.cidr)
      .filter((cidr): cidr is string => cidr !== null);
    return { name, mac: mac ?? '', cidrs };
  });
}
