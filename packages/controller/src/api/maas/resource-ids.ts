/**
 * MAAS objects carry integer ids (interfaces, block devices, subnets, VLANs, zones, pools, boot
 * resources), and clients match them across responses (gomaasapi looks up the block device ids of
 * `constraints_by_type.storage` in the machine it read). Ingot's own ids are strings, and disks
 * and NICs have none, so the adapter derives each integer from what names the object: stable
 * across requests and restarts, and the same on every controller.
 */
import { createHash } from 'node:crypto';

/** A positive 31-bit integer derived from `parts` (stable; collisions are 1 in 2^31). */
export function stableId(...parts: readonly string[]): number {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return digest.readUInt32BE(0) & 0x7fffffff || 1;
}

/** Where MAAS 2.0 serves its API: every `resource_uri` starts here. */
export const MAAS_API_ROOT = '/MAAS/api/2.0';
