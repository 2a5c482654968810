/** The machines table's search: every word must appear among the machine's fields. */
import type { Machine } from './types.ts';

/** Whether `m` matches the search text (hostname, id, owner, tags, MACs, zone, pool, OS). */
export function machineMatches(m: Machine, text: string): boolean {
  const words = text
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  const hay = [
    m.hostname,
    m.id,
    m.owner ?? '',
    m.arch,
    m.zone,
    m.pool,
    m.rack_id ?? '',
    ...m.tags,
    ...m.macs,
    m.deployment === null ? '' : `${m.deployment.os}/${m.deployment.release}`,
  ]
    .join(' ')
    .toLowerCase();
  return words.every((w) => hay.includes(w));
}
