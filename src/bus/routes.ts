/** One cached {@link CallRoute} per method, so a call allocates nothing to say how it is checked. */

import type { CallRoute } from '../call.js';
import type { ContractShape, ProcedureMap } from '../contract.js';
import { NoHandlerError } from '../errors.js';
import { closestName } from '../options-check.js';

/**
 * Returns the route lookup for one side's procedures (unknown methods get an unvalidated route).
 * `extra` goes into every route of the table (`{ inputChecked: true }` for a gather's calls).
 */
export function routeTable(
  procedures: ProcedureMap | undefined,
  extra?: Readonly<Partial<CallRoute>>,
): (method: string) => CallRoute {
  const routes = new Map<string, CallRoute>();
  return (method) => {
    let route = routes.get(method);
    if (!route) {
      const def = procedures && Object.hasOwn(procedures, method) ? procedures[method] : undefined;
      route = Object.freeze({ ...extra, def });
      // Unknown names are not cached: a caller looping over bad names must not grow the map.
      if (def) routes.set(method, route);
    }
    return route;
  };
}

/**
 * The local refusal of a call to a method the contract does not list for `side` (the remote end
 * would only answer NO_HANDLER, a round trip later): says where the name is served instead, or
 * the closest name, or how to add it.
 */
export function unknownMethodError(
  method: unknown,
  contract: ContractShape,
  side: 'worker' | 'primary',
  what: string,
): NoHandlerError {
  const name = typeof method === 'string' ? method : undefined;
  const other = side === 'worker' ? 'primary' : 'worker';
  const served = name !== undefined && contract[other] && Object.hasOwn(contract[other], name);
  const closest = name === undefined ? undefined : closestName(name, Object.keys(contract[side] ?? {}));
  const hint = served
    ? side === 'worker'
      ? `; "${name}" is served by the primary (contract.primary): workers call it with bus.call("${name}", input)`
      : `; "${name}" is served by the workers (contract.worker): call one with bus.call(workerId, "${name}", input) or all with bus.callPeers("${name}", input)`
    : closest !== undefined
      ? `; did you mean "${closest}"?`
      : `; add it to defineContract({ ${side}: { … } })`;
  const label = name === undefined ? `a method name, got ${typeof method}` : `"${name}"`;
  return new NoHandlerError(
    `${what}: ${label} is not in the contract's ${side} procedures, so nothing serves it${hint}`,
  );
}
