import { describe, expect, it } from 'vitest';
import { machineMatches } from './machine-search.ts';
import type { Machine } from './types.ts';

const m: Machine = {
  id: 'k3x8pq',
  hostname: 'web-01',
  status: 'deployed',
  status_message: 'Deployed',
  arch: 'amd64',
  cpu_count: 8,
  memory_mib: 16384,
  storage_gib: 100,
  macs: ['52:54:00:12:34:56'],
  tags: ['ssd', 'rack-a'],
  zone: 'dc1',
  pool: 'web',
  owner: 'alice',
  locked: false,
  rack_id: 'r1',
  power: { type: 'ipmi', state: 'on', seen_at: null },
  deployment: {
    os: 'debian',
    release: 'bookworm',
    kernel: null,
    ephemeral: false,
    has_user_data: false,
    erase: null,
  },
  last_step: null,
  status_deadline: null,
  updated_at: null,
};

describe('machine search', () => {
  it('matches every word, case-insensitively, across hostname, owner, tags, MACs and OS', () => {
    expect(machineMatches(m, '')).toBe(true);
    expect(machineMatches(m, 'WEB')).toBe(true);
    expect(machineMatches(m, 'alice ssd')).toBe(true);
    expect(machineMatches(m, '52:54:00:12')).toBe(true);
    expect(machineMatches(m, 'debian/bookworm')).toBe(true);
    expect(machineMatches(m, 'alice hdd')).toBe(false);
    expect(machineMatches(m, 'bob')).toBe(false);
  });
});
