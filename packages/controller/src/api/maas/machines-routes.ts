/**
 * `machines/` and `machines/{system_id}/`: list and read, and the operations (`?op=`) MAAS
 * clients drive a machine's life with. Each op calls the same application service as `/api/v1`.
 */
import type { Context } from 'hono';
import type { Actor } from '../../app/actor.ts';
import type { Machine } from '../../domain/machine/machine.ts';
import { mayActOn } from '../../domain/user.ts';
import type { ApiDeps } from '../context.ts';
import { constraintsByType, parseAllocate } from './allocate-params.ts';
import { deployInput, releaseErase } from './deploy-params.ts';
import { opOf, readParams, type MaasParams } from './form-params.ts';
import { MaasError, maasErrorFor, must } from './maas-error.ts';
import { paths, type MaasApp, type MaasEnv } from './maas-env.ts';
import { blockDeviceId, disksOf } from './machine-shape.ts';
import { machineFilter } from './machine-filter.ts';
import { MAAS_DOMAIN, renderMachine, renderMachines } from './machine-render.ts';

type Ctx = Context<MaasEnv>;
type Op = (c: Ctx, p: MaasParams, actor: Actor) => Promise<Response>;

/** MAAS's answer to an op the resource does not have. */
function unknownOp(method: string, op: string | undefined): MaasError {
  return new MaasError(
    400,
    op === undefined
      ? `Unrecognised signature: method=${method} (give an op=)`
      : `Unrecognised signature: method=${method} op=${op}`,
  );
}

async function dispatch(c: Ctx, ops: Readonly<Record<string, Op>>, noOp?: Op): Promise<Response> {
  const op = opOf(c);
  const handler = op === undefined ? noOp : Object.hasOwn(ops, op) ? ops[op] : undefined;
  if (handler === undefined) throw unknownOp(c.req.method, op);
  const params = await readParams(c);
  return handler(c, params, c.get('actor'));
}

/** Registers the machine routes. */
export function registerMachineRoutes(app: MaasApp, deps: ApiDeps): void {
  const one = async (c: Ctx, m: Machine, status: 200 | 201 = 200): Promise<Response> =>
    c.json(await renderMachine(deps, m), status);
  const idOf = (c: Ctx): string => c.req.param('system_id') ?? '';

  const list: Op = async (c, p, actor) => {
    const ids = p.all('id');
    const machines = await deps.machines.list(actor, ids.length > 0 ? { ids } : {});
    const notes = await deps.allocationNotes.forMachines(machines.map((m) => m.id));
    const shown = machines.filter(machineFilter(p, MAAS_DOMAIN, notes));
    return c.json(await renderMachines(deps, shown));
  };

  const allocate: Op = async (c, p, actor) => {
    const request = parseAllocate(p, MAAS_DOMAIN);
    const machine = must(
      request.dryRun
        ? await deps.machines.previewAllocation(actor, request.constraints)
        : await deps.machines.allocate(actor, request.constraints),
    );
    if (!request.dryRun && request.agentName !== undefined) {
      must(await deps.allocationNotes.setAgentName(actor, machine.id, request.agentName));
    }
    const hardware = await deps.store.getMachineHardware(machine.id);
    const shaped = await renderMachine(deps, machine);
    const byType = constraintsByType(request.storage, disksOf(machine, hardware), (d) =>
      blockDeviceId(machine.id, d.name),
    );
    return c.json({ ...shaped, constraints_by_type: byType });
  };

  const releaseMany: Op = async (c, p, actor) => {
    const ids = p.all('machines');
    if (ids.length === 0) throw new MaasError(400, 'machines: give at least one system_id.');
    const found: Machine[] = [];
    const unknown: string[] = [];
    for (const id of ids) {
      const got = await deps.machines.get(actor, id);
      if (got.ok) found.push(got.value);
      else unknown.push(id);
    }
    if (unknown.length > 0) throw new MaasError(400, `Unknown machine(s): ${unknown.join(', ')}.`);
    const denied = found.filter((m) => actor.kind === 'user' && !mayActOn(actor.user, m.ownerId));
    if (denied.length > 0) {
      throw new MaasError(
        403,
        `You don't have the required permission to release the following machine(s): ` +
          denied.map((m) => m.id).join(', '),
      );
    }
    const erase = releaseErase(p);
    const failed: string[] = [];
    for (const m of found) {
      const released = await deps.machines.release(actor, m.id, {
        comment: p.one('comment'),
        erase,
      });
      if (!released.ok) failed.push(`${m.id} (${maasErrorFor(released.error).message})`);
    }
    if (failed.length > 0) {
      throw new MaasError(409, `Machine(s) cannot be released: ${failed.join('; ')}`);
    }
    return c.json(found.map((m) => m.id));
  };

  app.on('GET', paths('/machines'), (c) => dispatch(c, {}, list));
  app.on('POST', paths('/machines'), (c) => dispatch(c, { allocate, release: releaseMany }));

  const read: Op = async (c, _p, actor) => one(c, must(await deps.machines.get(actor, idOf(c))));
  const queryPowerState: Op = async (c, _p, actor) => {
    const m = must(await deps.machines.get(actor, idOf(c)));
    return c.json({ state: m.powerState });
  };

  const deploy: Op = async (c, p, actor) => {
    const id = idOf(c);
    let machine = must(await deps.machines.get(actor, id));
    const input = deployInput(p, await deps.images.list(), machine.arch);
    // MAAS deploys a Ready machine by allocating it first (to the caller).
    if (machine.status === 'ready') {
      machine = must(await deps.machines.allocate(actor, { systemId: id }));
    }
    return one(c, must(await deps.machines.deploy(actor, machine.id, input)));
  };
  const release: Op = async (c, p, actor) =>
    one(
      c,
      must(
        await deps.machines.release(actor, idOf(c), {
          comment: p.one('comment'),
          erase: releaseErase(p),
        }),
      ),
    );
  const power =
    (action: 'on' | 'off'): Op =>
    async (c, _p, actor) =>
      one(c, must(await deps.machines.power(actor, idOf(c), action)));
  const act =
    (action: 'abort' | 'mark_broken' | 'mark_fixed', verb: string): Op =>
    async (c, p, actor) => {
      const comment = p.one('comment') ?? p.one('error_description') ?? '';
      const message = comment === '' ? verb : `${verb}: ${comment}`;
      return one(c, must(await deps.machines.act(actor, idOf(c), action, { message })));
    };
  const setOwnerData: Op = async (c, p, actor) => {
    const patch: Record<string, string> = {};
    for (const name of p.names()) patch[name] = p.one(name) ?? '';
    const id = idOf(c);
    must(await deps.allocationNotes.setOwnerData(actor, id, patch));
    return one(c, must(await deps.machines.get(actor, id)));
  };
  const lock =
    (locked: boolean): Op =>
    async (c, _p, actor) =>
      one(c, must(await deps.machines.setLocked(actor, idOf(c), locked)));

  app.on('GET', paths('/machines/:system_id'), (c) =>
    dispatch(c, { query_power_state: queryPowerState }, read),
  );
  app.on('POST', paths('/machines/:system_id'), (c) =>
    dispatch(c, {
      deploy,
      release,
      power_on: power('on'),
      power_off: power('off'),
      abort: act('abort', 'Aborted'),
      mark_broken: act('mark_broken', 'Marked broken'),
      mark_fixed: act('mark_fixed', 'Marked fixed'),
      set_owner_data: setOwnerData,
      lock: lock(true),
      unlock: lock(false),
    }),
  );
}
