/** Checks a bus's handlers against its side of the contract, once, at creation. */

import type { ServedProcedure } from '../call.js';
import type { ProcedureMap } from '../contract.js';

/**
 * Returns the lookup the peer uses to find a handler.
 * @throws TypeError for a handler whose name is not in the contract or that is not a function.
 */
export function resolveHandlers(
  procedures: ProcedureMap | undefined,
  handlers: Record<string, unknown> | undefined,
  where: string,
  side: 'primary' | 'worker',
): (method: string) => ServedProcedure | undefined {
  const served = new Map<string, ServedProcedure>();
  for (const [method, handler] of Object.entries(handlers ?? {})) {
    if (handler === undefined) continue;
    const def = procedures && Object.hasOwn(procedures, method) ? procedures[method] : undefined;
    if (!def) {
      throw new TypeError(`${where}: handler "${method}" is not in the contract's ${side} procedures`);
    }
    if (typeof handler !== 'function') {
      throw new TypeError(`${where}: handler "${method}" must be a function, got ${typeof handler}`);
    }
    served.set(method, { def, handler: handler as ServedProcedure['handler'] });
  }
  return (method) => served.get(method);
}
