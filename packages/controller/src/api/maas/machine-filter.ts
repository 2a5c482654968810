/**
 * MAAS's `machines/` read filters (`hostname`, `mac_address`, `zone`, `pool`, `status`, `arch`,
 * `tags`, `agent_name`…): each repeated key is any-of, different keys combine. Visibility is the
 * service's; this only narrows what the caller may already see.
 */
import type { AllocationNotes } from '../../domain/machine/allocation-notes.ts';
import type { Machine } from '../../domain/machine/machine.ts';
import type { MaasParams } from './form-params.ts';
import { maasStatusOf } from './status-map.ts';

/** A predicate for the filters in `p` (`id=` is applied by the store). */
export function machineFilter(
  p: MaasParams,
  domain: string,
  notes: ReadonlyMap<string, AllocationNotes>,
): (m: Machine) => boolean {
  const hostnames = p
    .all('hostname')
    .map((h) => (h.endsWith(`.${domain}`) ? h.slice(0, -(domain.length + 1)) : h));
  const macs = p.all('mac_address').map((m) => m.toLowerCase().replace(/-/g, ':'));
  const zones = p.all('zone');
  const pools = p.all('pool');
  const statuses = p.all('status');
  const arches = p.all('arch').map((a) => a.split('/')[0]);
  const tags = p.list('tags');
  const agents = p.all('agent_name');
  return (m) =>
    (hostnames.length === 0 || hostnames.includes(m.hostname)) &&
    (macs.length === 0 || m.macs.some((mac) => macs.includes(mac))) &&
    (zones.length === 0 || zones.includes(m.zone)) &&
    (pools.length === 0 || pools.includes(m.pool)) &&
    (statuses.length === 0 || statuses.includes(maasStatusOf(m).keyword)) &&
    (arches.length === 0 || arches.includes(m.arch)) &&
    tags.every((t) => m.tags.includes(t)) &&
    (agents.length === 0 || agents.includes(notes.get(m.id)?.agentName ?? ''));
}
