/** Gather: call many workers at once and keep one settled result per worker. */

import type { CallOptions } from '../call.js';
import type { BusError } from '../errors.js';
import type { StandardSchemaV1 } from '../standard-schema.js';
import { validate } from '../validate.js';

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
 * {@link gather} of one input to every target, validated against `schema` once for all of them
 * (on the primary, before sending) rather than once per target. When it fails, every target's
 * result is that VALIDATION error and nothing is sent; no targets, no validation.
 */
export function gatherInput<T, Target extends GatherTarget>(
  targets: readonly Target[],
  schema: StandardSchemaV1 | undefined,
  input: unknown,
  subject: string,
  call: (target: Target, input: unknown) => Promise<T>,
): Promise<GatherResult<T>[]> {
  if (targets.length === 0) return Promise.resolve([]);
  // `validate` only ever throws (or rejects with) VALIDATION.
  const failAll = (error: unknown): GatherResult<T>[] =>
    targets.map((target) => ({ id: target.id, pid: target.pid, ok: false, error: error as BusError }));
  let checked: unknown;
  try {
    checked = validate(schema, input, () => ({
      what: 'input',
      subject,
      side: 'on the primary before sending',
    }));
  } catch (error) {
    return Promise.resolve(failAll(error));
  }
  if (checked instanceof Promise) {
    return checked.then((value) => gather(targets, (target) => call(target, value)), failAll);
  }
  return gather(targets, (target) => call(target, checked));
}

/**
 * Runs `call` against every target with the same timeout and signal, and never rejects: a worker
 * that fails or misses the deadline yields `ok: false` while the others keep their values.
 */
function gather<T, Target extends GatherTarget>(
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
