/** One cached {@link CallRoute} per method, so a call allocates nothing to say how it is checked. */

import type { CallRoute } from '../call.js';
import type { ProcedureMap } from '../contract.js';

/** Returns the route lookup for one side's procedures (unknown methods get an unvalidated route). */
export function routeTable(procedures: ProcedureMap | undefined): (method: string) => CallRoute {
  const routes = new Map<string, CallRoute>();
  return (method) => {
    let route = routes.get(method);
    if (!route) {
      const def = procedures && Object.hasOwn(procedures, method) ? procedures[method] : undefined;
      route = Object.freeze({ def });
      // Unknown names are not cached: a caller looping over bad names must not grow the map.
      if (def) routes.set(method, route);
    }
    return route;
  };
}
