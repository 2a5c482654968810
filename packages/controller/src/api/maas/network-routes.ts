/**
 * `spaces/`, `fabrics/` and `static-routes/`, which Juju reads for network discovery. Ingot has
 * no spaces, fabrics or static routes of its own: its subnets sit in MAAS's `undefined` space,
 * each on the untagged VLAN of a fabric of its own (as `network-shape.ts` names them), plus
 * `fabric-0` for NICs on no known subnet; there are no static routes.
 */
import type { ApiDeps } from '../context.ts';
import { opOf } from './form-params.ts';
import { MaasError } from './maas-error.ts';
import { paths, type MaasApp } from './maas-env.ts';
import { fabricName, subnetShape, vlanShape } from './network-shape.ts';
import { MAAS_API_ROOT, stableId } from './resource-ids.ts';

/** MAAS lists subnets in no space under this pseudo-space, id -1. */
const UNDEFINED_SPACE_ID = -1;

/** Registers the network resources. */
export function registerNetworkRoutes(app: MaasApp, deps: ApiDeps): void {
  const noOp = (op: string | undefined): void => {
    if (op !== undefined) throw new MaasError(400, `Unrecognised signature: method=GET op=${op}`);
  };

  app.on('GET', paths('/spaces'), async (c) => {
    noOp(opOf(c));
    const subnets = await deps.subnets.list();
    return c.json([
      {
        id: UNDEFINED_SPACE_ID,
        name: 'undefined',
        description: '',
        vlans: subnets.map((s) => vlanShape(s)),
        subnets: subnets.map(subnetShape),
        resource_uri: `${MAAS_API_ROOT}/spaces/undefined/`,
      },
    ]);
  });

  app.on('GET', paths('/fabrics'), async (c) => {
    noOp(opOf(c));
    const subnets = await deps.subnets.list();
    const fabrics = [undefined, ...subnets].map((s) => {
      const vlan = vlanShape(s);
      const name = fabricName(s);
      const id = stableId('fabric', name);
      return {
        id,
        name,
        class_type: null,
        vlans: [vlan],
        resource_uri: `${MAAS_API_ROOT}/fabrics/${id}/`,
      };
    });
    return c.json(fabrics);
  });

  app.on('GET', paths('/static-routes'), (c) => {
    noOp(opOf(c));
    return c.json([]);
  });
}
