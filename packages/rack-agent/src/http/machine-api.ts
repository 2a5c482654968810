import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '@ingot/common';
import type { BootPlan } from '../domain/boot-plan.ts';
import type { EventRecorder } from '../events/event-recorder.ts';
import type { AgentStore } from '../state/agent-store.ts';
import { parseMachineEventInput, type MachineEventInput } from './machine-event-input.ts';
import { problem } from './problem.ts';

/** Largest accepted event body; a log tail belongs in `data`, a whole log does not. */
export const MAX_MACHINE_EVENT_BYTES = 64 * 1024;

/** What the machine-facing routes need. */
export interface MachineApiDeps {
  readonly store: Pick<AgentStore, 'bootPlan' | 'bootPlanByMac'>;
  readonly recorder: EventRecorder;
  readonly logger: Logger;
}

/**
 * Routes machines call on the agent (DESIGN.md §1: machines never need a route to the
 * controller). Today: `GET /healthz` and `POST /api/v1/machine-events`, where a booting machine
 * reports a step. The event is resolved to a machine through the boot plans, committed to the
 * outbox and answered `202 { id }`; the session delivers it to the controller.
 *
 * Errors are RFC 9457 problems: 400 bad body, 404 machine without a boot plan here,
 * 413 too large, 415 not JSON. Mount it with `app.route('/', createMachineApi(deps))`.
 */
export function createMachineApi(deps: MachineApiDeps) {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .post(
      '/api/v1/machine-events',
      bodyLimit({
        maxSize: MAX_MACHINE_EVENT_BYTES,
        onError: (c) => problem(c, 413, `body larger than ${MAX_MACHINE_EVENT_BYTES} bytes`),
      }),
      async (c) => {
        const contentType = c.req.header('content-type') ?? '';
        if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
          return problem(c, 415, 'content-type must be application/json');
        }
        let body: unknown;
        try {
          body = await c.req.json();
        } catch {
          return problem(c, 400, 'body is not valid JSON');
        }
        const input = parseMachineEventInput(body);
        if (!input.ok) return problem(c, 400, input.error.detail);

        const plan = resolveMachine(deps.store, input.value);
        if (plan === 'mismatch') {
          return problem(c, 400, 'mac does not belong to machine_id');
        }
        if (plan === undefined) {
          return problem(c, 404, 'no boot plan on this rack matches machine_id or mac');
        }
        const event = deps.recorder.recordStatus({
          machineId: plan.machineId,
          ...(input.value.mac === undefined ? {} : { mac: input.value.mac }),
          step: input.value.step,
          result: input.value.result,
          message: input.value.message,
          data: input.value.data,
        });
        deps.logger.debug('machine event recorded', {
          eventId: event.id,
          machine_id: event.machineId,
          step: event.step,
          result: event.result,
        });
        return c.json({ id: event.id }, 202);
      },
    );
}

/** Route type of {@link createMachineApi}, for typed clients (`hono/client`). */
export type MachineApi = ReturnType<typeof createMachineApi>;

function resolveMachine(
  store: MachineApiDeps['store'],
  input: MachineEventInput,
): BootPlan | 'mismatch' | undefined {
  if (input.machineId === undefined) {
    return input.mac === undefined ? undefined : store.bootPlanByMac(input.mac);
  }
  const plan = store.bootPlan(input.machineId);
  if (plan !== undefined && input.mac !== undefined && !plan.macs.includes(input.mac)) {
    return 'mismatch';
  }
  return plan;
}
