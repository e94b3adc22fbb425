/**
 * The fleet's gather: one settled row per worker of every host, each carrying its `host`, and one
 * row for a host that did not answer (gone, frozen or leaving) so a silent host is never silently
 * missing from the result.
 */
import type { GatherResult } from '../bus/gather.js';
import type { ProcedureDef } from '../contract.js';
import { type BusError, errorFromWire, RemoteError, type WireError } from '../errors.js';
import { validate } from '../validate.js';

/** One row of `fleet.callAll`: a worker's answer, or (with `id` undefined) a host that did not answer. */
export type FleetGatherResult<T> =
  | { host: string; id: number; pid: number | undefined; ok: true; value: T }
  | { host: string; id: number | undefined; pid: number | undefined; ok: false; error: BusError };

/** A row as a host's relay sends it back (see `relayRequest`). */
type RelayedRow =
  | { id: number; pid: number | undefined; ok: true; value: unknown }
  | { id: number; pid: number | undefined; ok: false; error: WireError; b?: true };

/** Tags the local bus's rows with this host's name. */
export function localRows<T>(host: string, rows: GatherResult<T>[]): FleetGatherResult<T>[] {
  return rows.map((row) => ({ host, ...row }) as FleetGatherResult<T>);
}

/** The one row of a host whose gather failed as a whole. */
export function hostFailureRow(host: string, error: BusError): FleetGatherResult<never> {
  return { host, id: undefined, pid: undefined, ok: false, error };
}

/**
 * Turns a remote host's relayed rows into results: remote errors rebuilt, values checked against
 * the output schema on receipt (a bad value is that row's VALIDATION, not the whole gather's).
 */
export async function remoteRows(
  host: string,
  method: string,
  def: ProcedureDef | undefined,
  localName: string,
  value: unknown,
): Promise<FleetGatherResult<unknown>[]> {
  if (!Array.isArray(value)) return [];
  const rows = value.filter(
    (row): row is RelayedRow =>
      typeof row === 'object' && row !== null && Number.isInteger((row as RelayedRow).id),
  );
  return Promise.all(
    rows.map(async (row): Promise<FleetGatherResult<unknown>> => {
      const base = { host, id: row.id, pid: typeof row.pid === 'number' ? row.pid : undefined };
      if (!row.ok) {
        const wire: WireError =
          typeof row.error === 'object' && row.error !== null && typeof row.error.message === 'string'
            ? row.error
            : { name: 'Error', message: 'malformed error row' };
        const error = row.b
          ? (errorFromWire(wire) as BusError)
          : new RemoteError(
              `call "${method}" to worker ${row.id} of host ${host} failed: ${wire.name}: ${wire.message}`,
              wire,
            );
        return { ...base, ok: false, error };
      }
      try {
        const checked = def
          ? await validate(def.output, row.value, {
              what: 'output',
              subject: `call "${method}"`,
              side: `on ${localName} on receipt from worker ${row.id} of host ${host}`,
            })
          : row.value;
        return { ...base, ok: true, value: checked };
      } catch (error) {
        return { ...base, ok: false, error: error as BusError };
      }
    }),
  );
}
