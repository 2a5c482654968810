import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIFECYCLE_DOC_PATH, renderLifecycleDoc } from '../../../scripts/lifecycle-diagram.ts';
import {
  MACHINE_ACTIONS,
  MACHINE_STATUSES,
  RESTING_STATUSES,
  TIMED_STATUSES,
  TRANSITIONS,
  transition,
  type Effect,
  type MachineAction,
  type MachineStatus,
} from './lifecycle.ts';

// The expected table, written out by hand from DESIGN.md §2 so the test does not just read the
// code back to itself. Key: `status action`.
const commissionEffects: Effect[] = [
  { kind: 'set-boot-plan', purpose: 'commission' },
  { kind: 'power', action: 'on', pxeOnce: true },
  { kind: 'start-timeout' },
];
const deployEffects: Effect[] = [
  { kind: 'set-deployment' },
  { kind: 'set-boot-plan', purpose: 'install' },
  { kind: 'power', action: 'on', pxeOnce: true },
  { kind: 'start-timeout' },
];
const releaseEffects: Effect[] = [
  { kind: 'set-boot-plan', purpose: 'local' },
  { kind: 'power', action: 'off', pxeOnce: false },
  { kind: 'start-timeout' },
];
const eraseEffects: Effect[] = [
  { kind: 'set-deployment' },
  { kind: 'set-boot-plan', purpose: 'erase' },
  { kind: 'power', action: 'cycle', pxeOnce: true },
  { kind: 'start-timeout' },
];
const toReady: Effect[] = [{ kind: 'clear-timeout' }, { kind: 'clear-owner' }];
const clear: Effect[] = [{ kind: 'clear-timeout' }];
const toLocal: Effect[] = [{ kind: 'clear-timeout' }, { kind: 'set-boot-plan', purpose: 'local' }];

const EXPECTED: Record<string, { to: MachineStatus; effects: Effect[] }> = {
  'new commission': { to: 'commissioning', effects: commissionEffects },
  'new mark_broken': { to: 'broken', effects: clear },
  'commissioning commissioned': { to: 'ready', effects: toLocal },
  'commissioning commission_failed': { to: 'failed_commissioning', effects: clear },
  'commissioning timeout': { to: 'failed_commissioning', effects: clear },
  'commissioning abort': {
    to: 'new',
    effects: [{ kind: 'clear-timeout' }, { kind: 'power', action: 'off', pxeOnce: false }],
  },
  'commissioning mark_broken': { to: 'broken', effects: clear },
  'ready commission': { to: 'commissioning', effects: commissionEffects },
  'ready allocate': { to: 'allocated', effects: [{ kind: 'set-owner' }] },
  'ready mark_broken': { to: 'broken', effects: clear },
  'allocated deploy': { to: 'deploying', effects: deployEffects },
  'allocated release': { to: 'ready', effects: toReady },
  'allocated mark_broken': { to: 'broken', effects: clear },
  'deploying installed': {
    to: 'deploying',
    effects: [{ kind: 'set-boot-plan', purpose: 'local' }],
  },
  'deploying deployed': { to: 'deployed', effects: toLocal },
  'deploying deploy_failed': { to: 'failed_deployment', effects: clear },
  'deploying timeout': { to: 'failed_deployment', effects: clear },
  'deploying abort': {
    to: 'allocated',
    effects: [
      { kind: 'clear-timeout' },
      { kind: 'set-boot-plan', purpose: 'local' },
      { kind: 'power', action: 'off', pxeOnce: false },
    ],
  },
  'deploying mark_broken': { to: 'broken', effects: clear },
  'deployed release': { to: 'releasing', effects: releaseEffects },
  'deployed release_erase': { to: 'releasing', effects: eraseEffects },
  'deployed mark_broken': { to: 'broken', effects: clear },
  'releasing released': {
    to: 'ready',
    effects: [...toReady, { kind: 'set-boot-plan', purpose: 'local' }],
  },
  'releasing release_failed': { to: 'failed_releasing', effects: clear },
  'releasing timeout': { to: 'failed_releasing', effects: clear },
  'releasing mark_broken': { to: 'broken', effects: clear },
  'failed_commissioning commission': { to: 'commissioning', effects: commissionEffects },
  'failed_commissioning mark_broken': { to: 'broken', effects: clear },
  'failed_deployment deploy': { to: 'deploying', effects: deployEffects },
  'failed_deployment release': { to: 'releasing', effects: releaseEffects },
  'failed_deployment release_erase': { to: 'releasing', effects: eraseEffects },
  'failed_deployment mark_broken': { to: 'broken', effects: clear },
  'failed_releasing release': { to: 'releasing', effects: releaseEffects },
  'failed_releasing release_erase': { to: 'releasing', effects: eraseEffects },
  'failed_releasing mark_broken': { to: 'broken', effects: clear },
  'broken mark_fixed': { to: 'ready', effects: toReady },
};

/** What the machine or its rack reports; everything else is an operator's action. */
const OBSERVATIONS: ReadonlySet<MachineAction> = new Set([
  'commissioned',
  'commission_failed',
  'deployed',
  'deploy_failed',
  'installed',
  'released',
  'release_failed',
  'timeout',
]);

const ALL_PAIRS = MACHINE_STATUSES.flatMap((status) =>
  MACHINE_ACTIONS.map((action) => ({ status, action, key: `${status} ${action}` })),
);
const VALID_PAIRS = ALL_PAIRS.filter((p) => EXPECTED[p.key] !== undefined);
const INVALID_PAIRS = ALL_PAIRS.filter((p) => EXPECTED[p.key] === undefined);

function allowedIn(status: MachineStatus): MachineAction[] {
  return MACHINE_ACTIONS.filter((a) => EXPECTED[`${status} ${a}`] !== undefined);
}

function rows(): {
  from: MachineStatus;
  action: MachineAction;
  to: MachineStatus;
  effects: readonly Effect[];
}[] {
  return MACHINE_STATUSES.flatMap((from) =>
    MACHINE_ACTIONS.flatMap((action) => {
      const t = TRANSITIONS[from][action];
      return t === undefined ? [] : [{ from, action, to: t.to, effects: t.effects }];
    }),
  );
}

describe('TRANSITIONS', () => {
  it('has exactly the expected rows', () => {
    expect(
      rows()
        .map((r) => `${r.from} ${r.action}`)
        .sort(),
    ).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (key, expected) => {
    const [status, action] = key.split(' ') as [MachineStatus, MachineAction];
    expect(transition(status, action)).toEqual({ ok: true, value: expected });
  });

  it.each(INVALID_PAIRS.map((p) => [p.key, p] as const))('%s is an invalid transition', (_, p) => {
    expect(transition(p.status, p.action)).toEqual({
      ok: false,
      error: {
        kind: 'invalid-transition',
        status: p.status,
        action: p.action,
        allowed: allowedIn(p.status),
      },
    });
  });

  it('reaches every status from new', () => {
    const seen = new Set<MachineStatus>(['new']);
    const queue: MachineStatus[] = ['new'];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      for (const t of Object.values(TRANSITIONS[next])) {
        if (!seen.has(t.to)) {
          seen.add(t.to);
          queue.push(t.to);
        }
      }
    }
    expect([...seen].sort()).toEqual([...MACHINE_STATUSES].sort());
  });

  it.each(MACHINE_STATUSES.map((s) => [s]))('%s has an exit to another status', (status) => {
    const exits = Object.values(TRANSITIONS[status]).filter((t) => t.to !== status);
    expect(exits.length).toBeGreaterThan(0);
  });

  it('splits statuses into resting and timed, with nothing left over', () => {
    for (const status of MACHINE_STATUSES) {
      expect(RESTING_STATUSES.has(status) !== TIMED_STATUSES.has(status), status).toBe(true);
    }
    expect([...TIMED_STATUSES].sort()).toEqual(['commissioning', 'deploying', 'releasing']);
  });

  it.each([...TIMED_STATUSES].map((s) => [s]))(
    '%s times out into a failure and has an exit besides',
    (status) => {
      const row = TRANSITIONS[status];
      expect(row.timeout?.to).toMatch(/^failed_/);
      const otherExits = Object.entries(row).filter(
        ([action, t]) => action !== 'timeout' && t.to !== status,
      );
      expect(otherExits.length).toBeGreaterThan(0);
    },
  );

  it('has timeout rows only in timed statuses', () => {
    const withTimeout = MACHINE_STATUSES.filter((s) => TRANSITIONS[s].timeout !== undefined);
    expect(withTimeout.sort()).toEqual([...TIMED_STATUSES].sort());
  });

  it.each(rows().map((r) => [`${r.from} ${r.action}`, r] as const))(
    '%s starts a timeout exactly when it enters a timed status, and clears it on leaving one',
    (_, r) => {
      const kinds = r.effects.map((e) => e.kind);
      // Staying in a timed status (deploying installed) keeps the deadline it has.
      expect(kinds.includes('start-timeout')).toBe(TIMED_STATUSES.has(r.to) && r.from !== r.to);
      if (TIMED_STATUSES.has(r.from) && !TIMED_STATUSES.has(r.to)) {
        expect(kinds).toContain('clear-timeout');
      }
    },
  );

  it('allows mark_broken from every status but broken, and mark_fixed only from broken', () => {
    for (const status of MACHINE_STATUSES) {
      expect(TRANSITIONS[status].mark_broken !== undefined, status).toBe(status !== 'broken');
      expect(TRANSITIONS[status].mark_fixed !== undefined, status).toBe(status === 'broken');
    }
  });
});

describe('transition on a locked machine', () => {
  it.each(VALID_PAIRS.map((p) => [p.key, p] as const))('%s', (_, p) => {
    const result = transition(p.status, p.action, true);
    if (OBSERVATIONS.has(p.action)) {
      expect(result).toEqual({ ok: true, value: EXPECTED[p.key] });
    } else {
      expect(result).toEqual({
        ok: false,
        error: { kind: 'locked', status: p.status, action: p.action },
      });
    }
  });

  it('still reports an invalid transition as invalid, not as locked', () => {
    expect(transition('ready', 'deploy', true)).toMatchObject({
      ok: false,
      error: { kind: 'invalid-transition' },
    });
  });
});

describe('a random walk through the table', () => {
  it('keeps a deadline exactly while the machine is in a timed status, and an owner only when allocated', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...MACHINE_ACTIONS), { maxLength: 60 }), (actions) => {
        let status: MachineStatus = 'new';
        let deadline = false;
        let owner = false;
        for (const action of actions) {
          const result = transition(status, action);
          if (!result.ok) continue;
          for (const effect of result.value.effects) {
            if (effect.kind === 'start-timeout') deadline = true;
            if (effect.kind === 'clear-timeout') deadline = false;
            if (effect.kind === 'set-owner') owner = true;
            if (effect.kind === 'clear-owner') owner = false;
          }
          status = result.value.to;
          expect(deadline).toBe(TIMED_STATUSES.has(status));
          if (['new', 'ready', 'commissioning', 'failed_commissioning'].includes(status)) {
            expect(owner, `${status} after ${actions.join(',')}`).toBe(false);
          }
        }
      }),
    );
  });
});

describe('docs/lifecycle.md', () => {
  it('is what the diagram script prints', async () => {
    expect(await readFile(LIFECYCLE_DOC_PATH, 'utf8')).toBe(await renderLifecycleDoc());
  });

  it('is what the script writes when run', async () => {
    const script = LIFECYCLE_DOC_PATH.replace(
      /docs\/lifecycle\.md$/,
      'scripts/lifecycle-diagram.ts',
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script]);
    expect(stdout).toBe(await readFile(LIFECYCLE_DOC_PATH, 'utf8'));
  });

  it('draws an edge for every row of the table', async () => {
    const doc = await renderLifecycleDoc();
    for (const r of rows()) {
      expect(doc).toMatch(new RegExp(`^ +${r.from} --> ${r.to}: .*\\b${r.action}\\b`, 'm'));
    }
  });
});
