/**
 * The contract every {@link PowerDriver} must meet (STYLE.md §7: one suite per interface, run
 * against each implementation). `describePowerDriverContract('ipmi', () => openIpmiSubject())`.
 *
 * What it checks: `parseParams` rejects garbage with `settings`; `on` → query `on`; `off` →
 * query `off`; `cycle` ends `on` from either state; `on` of a machine that is on neither powers
 * it off nor resets it; `setBootDevice` (when present) sets a one-time PXE boot for BIOS and
 * UEFI; every method resolves to a `Result` (never rejects), including with an aborted signal and
 * on a failing BMC, and no error message holds a secret parameter. State checks run only for
 * drivers that can observe power (`observable`); the manual driver, which cannot, still runs the
 * rest.
 */
import { describe, expect, it } from 'vitest';
import type { Result } from '@ingot/common';
import {
  canSetBootDevice,
  POWER_ERROR_KINDS,
  type PowerActionContext,
  type PowerDriver,
  type PowerError,
  type PowerErrorKind,
  type PowerState,
} from './driver.ts';

/** A change of power the machine itself went through, as its subject observes it. */
export type PowerChange = 'on' | 'off' | 'reset';

/** One driver plus the machine behind it, fresh for each test. */
export interface PowerDriverContractSubject<P> {
  readonly driver: PowerDriver<P>;
  /** Valid raw parameters that reach this subject's machine. */
  readonly rawParams: unknown;
  /** Driver-specific raw parameters to reject, beside the suite's own garbage list. */
  readonly invalidParams?: readonly unknown[];
  /** True when `query` reports the real state (false: manual, which answers `unknown`). */
  readonly observable: boolean;
  /**
   * Power changes that reached the machine since the subject was opened, oldest first (e.g.
   * ipmi_sim's chassis-control calls). Lets the suite prove that `on` did not cycle.
   */
  readonly powerChanges?: () => readonly PowerChange[];
  /** The device the machine will boot from next, when the subject can see it. */
  readonly nextBootDevice?: () => string;
  /** A way to make every call fail: parameters (wrong password …) and/or a hook run before each. */
  readonly failure?: {
    readonly rawParams: unknown;
    readonly kind: PowerErrorKind;
    readonly beforeEachCall?: () => void;
  };
  /** Bound on waiting for a state to show after an action. Default 10 s. */
  readonly settleMs?: number;
  readonly close?: () => Promise<void>;
}

/** Raw parameters no driver with required parameters accepts. */
const GARBAGE: readonly unknown[] = [42, 'text', [1], true];

function contextFor(signal: AbortSignal = new AbortController().signal): PowerActionContext {
  return { target: { machineId: 'contract-1', hostname: 'contract-node' }, signal, pxeOnce: false };
}

/** Registers the contract suite for the driver `open` returns (a fresh subject each test). */
export function describePowerDriverContract<P>(
  name: string,
  open: () => Promise<PowerDriverContractSubject<P>>,
): void {
  describe(`PowerDriver contract: ${name}`, () => {
    /** Opens a subject, runs `body` with its parsed parameters, always closes it. */
    async function withSubject(
      body: (subject: PowerDriverContractSubject<P>, params: P) => Promise<void>,
    ): Promise<void> {
      const subject = await open();
      try {
        const parsed = subject.driver.parseParams(subject.rawParams);
        if (!parsed.ok) throw new Error(`valid params rejected: ${parsed.error.message}`);
        await body(subject, parsed.value);
      } finally {
        await subject.close?.();
      }
    }

    /** Polls `query` until it shows `expected`, bounded by the subject's `settleMs`. */
    async function settle(
      subject: PowerDriverContractSubject<P>,
      params: P,
      expected: PowerState,
    ): Promise<void> {
      const deadline = Date.now() + (subject.settleMs ?? 10_000);
      let seen: Result<PowerState, PowerError> | undefined;
      while (Date.now() <= deadline) {
        seen = await subject.driver.query(params, contextFor());
        if (seen.ok && seen.value === expected) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(seen).toEqual({ ok: true, value: expected });
    }

    /** Brings the machine to `state` through the driver and waits until it shows. */
    async function arrange(
      subject: PowerDriverContractSubject<P>,
      params: P,
      state: 'on' | 'off',
    ): Promise<void> {
      const done = await subject.driver[state](params, contextFor());
      expect(done.ok).toBe(true);
      if (subject.observable) await settle(subject, params, state);
    }

    it('parseParams accepts the valid parameters and rejects garbage with settings', async () => {
      await withSubject((subject) => {
        for (const raw of [...GARBAGE, ...(subject.invalidParams ?? [])]) {
          const parsed = subject.driver.parseParams(raw);
          expect(parsed, JSON.stringify(raw)).toMatchObject({
            ok: false,
            error: { kind: 'settings' },
          });
        }
        return Promise.resolve();
      });
    });

    it('on → query on, off → query off', async () => {
      await withSubject(async (subject, params) => {
        await arrange(subject, params, 'off');
        await arrange(subject, params, 'on');
        await arrange(subject, params, 'off');
        if (!subject.observable) {
          expect(await subject.driver.query(params, contextFor())).toEqual({
            ok: true,
            value: 'unknown',
          });
        }
      });
    });

    it.each(['on', 'off'] as const)('cycle from %s ends on', async (from) => {
      await withSubject(async (subject, params) => {
        await arrange(subject, params, from);
        const changesBefore = subject.powerChanges?.().length ?? 0;
        const cycled = await subject.driver.cycle(params, contextFor());
        expect(cycled.ok).toBe(true);
        if (subject.observable) await settle(subject, params, 'on');
        const changes = subject.powerChanges?.().slice(changesBefore);
        if (changes !== undefined) expect(changes.length).toBeGreaterThan(0);
      });
    });

    it('on of a machine that is on leaves it running (no off, no reset)', async () => {
      await withSubject(async (subject, params) => {
        await arrange(subject, params, 'on');
        const changesBefore = subject.powerChanges?.().length ?? 0;
        const again = await subject.driver.on(params, contextFor());
        expect(again.ok).toBe(true);
        // The outcome may say `unknown` (PowerActionOutcome: "if the driver knows it"); the query
        // below is what must show the machine on.
        if (again.ok && subject.observable) expect(['on', 'unknown']).toContain(again.value.state);
        if (subject.observable) {
          expect(await subject.driver.query(params, contextFor())).toEqual({
            ok: true,
            value: 'on',
          });
        }
        const changes = subject.powerChanges?.().slice(changesBefore) ?? [];
        expect(changes.filter((change) => change !== 'on')).toEqual([]);
      });
    });

    it.each([false, true])('setBootDevice(pxe, once, uefi=%s) when supported', async (uefi) => {
      await withSubject(async (subject, params) => {
        const { driver } = subject;
        if (!canSetBootDevice(driver)) return;
        const set = await driver.setBootDevice(
          params,
          'pxe',
          { persistent: false, uefi },
          contextFor(),
        );
        expect(set).toEqual({ ok: true, value: undefined });
        if (subject.nextBootDevice !== undefined) expect(subject.nextBootDevice()).toBe('pxe');
      });
    });

    it('resolves every method to a Result with an aborted signal', async () => {
      await withSubject(async (subject, params) => {
        const aborted = new AbortController();
        aborted.abort();
        for (const result of await callAll(subject.driver, params, contextFor(aborted.signal))) {
          expectResult(result);
        }
      });
    });

    it('fails with typed errors that hold no secret', async () => {
      await withSubject(async (subject) => {
        const { failure, driver } = subject;
        if (failure === undefined) return;
        const parsed = driver.parseParams(failure.rawParams);
        if (!parsed.ok) throw new Error(`failure params rejected: ${parsed.error.message}`);
        const secrets = driver.secretFields
          .map((field) => secretOf(failure.rawParams, field))
          .filter((value) => value.length >= 3);
        const results = await callAll(driver, parsed.value, contextFor(), failure.beforeEachCall);
        for (const result of results) {
          expect(result).toMatchObject({ ok: false, error: { kind: failure.kind } });
          const text = JSON.stringify(result);
          for (const secret of secrets) expect(text).not.toContain(secret);
        }
      });
    });
  });
}

/** Calls every method once; a rejection fails the test (drivers return errors, never throw). */
async function callAll<P>(
  driver: PowerDriver<P>,
  params: P,
  context: PowerActionContext,
  before: () => void = () => undefined,
): Promise<Result<unknown, PowerError>[]> {
  const calls: (() => Promise<Result<unknown, PowerError>>)[] = [
    () => driver.query(params, context),
    () => driver.on(params, context),
    () => driver.off(params, context),
    () => driver.cycle(params, context),
  ];
  if (canSetBootDevice(driver)) {
    calls.push(() =>
      driver.setBootDevice(params, 'pxe', { persistent: false, uefi: true }, context),
    );
  }
  const results: Result<unknown, PowerError>[] = [];
  for (const call of calls) {
    before();
    results.push(await call());
  }
  return results;
}

function expectResult(result: Result<unknown, PowerError>): void {
  if (result.ok) return;
  expect(POWER_ERROR_KINDS).toContain(result.error.kind);
  expect(typeof result.error.message).toBe('string');
}

function secretOf(raw: unknown, field: string): string {
  if (typeof raw !== 'object' || raw === null) return '';
  const value: unknown = Reflect.get(raw, field);
  return typeof value === 'string' ? value : '';
}
