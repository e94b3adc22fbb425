/**
 * The fleet's gather: one settled row per worker of every host, each carrying its `host`, and one
 * row for a host that did not answer (gone, frozen or leaving) so a silent host is never silently
 * missing from the result.
 */
import type { GatherResult } from '../bus/gather.js';
import type { ProcedureDef } from '../contract.js';
import {
  type BusError,
  busErrorFromWire,
  NotReadyError,
  RemoteError,
  type WireError,
  wireErrorFrom,
} from '../errors.js';
import type { Peer } from '../peer.js';
import { validate } from '../validate.js';
import type { HostInfo } from './hosts.js';

/** Margin a remote host's gather keeps before the caller's deadline, so its rows arrive in time. */
const GATHER_MARGIN_MS = 200;

/** The per-worker deadline a remote host's gather gets for a caller's `timeout`. */
export function remoteDeadline(timeout: number): number | undefined {
  if (!(timeout > 0 && timeout !== Number.POSITIVE_INFINITY)) return undefined;
  return Math.max(1, timeout - Math.min(GATHER_MARGIN_MS, Math.floor(timeout / 5)));
}

/** One fleet gather, as every host's part of it sees it. */
export interface HostGather {
  method: string;
  /** Already checked against the input schema. */
  input: unknown;
  def: ProcedureDef | undefined;
  timeout: number;
  signal: AbortSignal | undefined;
  /** The remote host's per-worker deadline (see {@link remoteDeadline}). */
  deadline: number | undefined;
}

/**
 * Gathers from every ready worker of one remote host (its primary relays to them) and never
 * rejects: a host that is leaving, gone or silent past the deadline is one failure row.
 */
export async function gatherFromHost(
  info: HostInfo,
  peer: () => Peer,
  call: HostGather,
  localName: string,
): Promise<FleetGatherResult<unknown>[]> {
  if (info.state !== 'up') {
    return [hostFailureRow(info.host, new NotReadyError(`host ${info.host} is leaving the fleet`))];
  }
  try {
    const rows = await peer().call(
      call.method,
      call.input,
      { timeout: call.timeout, signal: call.signal },
      { to: 'all', relayDeadline: call.deadline, targetName: `host ${info.host}` },
    );
    // Awaited here, so a failure to read the rows is this host's failure row, not the gather's.
    return await remoteRows(info.host, call.method, call.def, localName, rows);
  } catch (error) {
    return [hostFailureRow(info.host, error as BusError)];
  }
}

/** One row of `fleet.callAll`: a worker's answer, or (with `id` undefined) a host that did not answer. */
export type FleetGatherResult<T> =
  | { host: string; id: number; pid: number | undefined; ok: true; value: T }
  | { host: string; id: number | undefined; pid: number | undefined; ok: false; error: BusError };

/** A row as a host's relay sends it back (see `relayRequest`). */
type RelayedRow =
  | { id: number; pid: number | undefined; ok: true; value: unknown }
  | { id: number; pid: number | undefined; ok: false; error: unknown; b?: true };

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
        // Another host's data: every field checked by type before it goes into a message.
        const wire: WireError = wireErrorFrom(row.error);
        const what = `call "${method}" to worker ${row.id} of host ${host}`;
        const error = row.b
          ? busErrorFromWire(wire, what)
          : new RemoteError(`${what} failed: ${wire.name}: ${wire.message}`, wire);
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
