/** Gather: call many workers at once and keep one settled result per worker. */

import type { CallOptions } from '../call.js';
import type { BusError } from '../errors.js';

/** One worker's answer in a gather. */
export type GatherResult<T> =
  | { id: number; pid: number | undefined; ok: true; value: T }
  | { id: number; pid: number | undefined; ok: false; error: BusError };

/** Options of `callAll` / `callPeers`. */
export interface GatherOptions extends CallOptions {}

/** A worker a gather reaches. */
export interface GatherTarget {
  id: number;
  pid: number | undefined;
}

/**
 * Runs `call` against every target with the same timeout and signal, and never rejects: a worker
 * that fails or misses the deadline yields `ok: false` while the others keep their values.
 */
export function gather<T, Target extends GatherTarget>(
  targets: readonly Target[],
  call: (target: Target) => Promise<T>,
): Promise<GatherResult<T>[]> {
  return Promise.all(
    targets.map((target) =>
      call(target).then(
        (value): GatherResult<T> => ({ id: target.id, pid: target.pid, ok: true, value }),
        (error: BusError): GatherResult<T> => ({ id: target.id, pid: target.pid, ok: false, error }),
      ),
    ),
  );
}
