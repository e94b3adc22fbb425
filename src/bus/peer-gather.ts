/**
 * A worker's gather from its peers (`bus.callPeers`): one request the primary fans out to every
 * ready worker (it enforces the deadline per worker, as its own `callAll` does), answered with one
 * row per worker, which this end turns into settled results, checking each value against the
 * contract. Its own module because the rows are a small wire format of their own, between this
 * end and the primary's relay (`relay.ts`).
 */
import { MAX_TIMEOUT } from '../call.js';
import type { ProcedureDef } from '../contract.js';
import { busErrorFromWire, RemoteError, type WireError } from '../errors.js';
import type { Peer } from '../peer.js';
import { validate } from '../validate.js';
import type { GatherResult } from './gather.js';
import type { PeerGatherOptions } from './worker-options.js';

/** Extra time a worker waits past a gather's deadline for the primary's answer to arrive. */
const GATHER_REPLY_GRACE_MS = 2_000;

/** What the primary's relay answers a gather with: one row per worker. */
type RelayedRow =
  | { id: number; pid: number | undefined; ok: true; value: unknown }
  | { id: number; pid: number | undefined; ok: false; error: WireError; b?: true };

/** The worker gathering, as messages name it (its id can change when the primary attaches it). */
interface Gatherer {
  readonly id: number | undefined;
}

/**
 * Calls `method` on every other ready worker (and this one with `includeSelf`) through the
 * primary; resolves with one settled result per worker, partial results at the deadline.
 * `timeout` is already checked.
 */
export async function gatherPeers(
  peer: Peer,
  self: Gatherer,
  method: string,
  def: ProcedureDef,
  input: unknown,
  timeout: number,
  options: PeerGatherOptions,
): Promise<GatherResult<unknown>[]> {
  const finite = timeout > 0 && timeout !== Number.POSITIVE_INFINITY;
  const checkedInput = await validate(def.input, input, {
    what: 'input',
    subject: `call "${method}"`,
    side: `on worker ${self.id} before sending`,
  });
  // The primary enforces the deadline per worker; this end waits a little longer for the answer.
  const rows = (await peer.call(
    method,
    checkedInput,
    { signal: options.signal, timeout: finite ? Math.min(timeout + GATHER_REPLY_GRACE_MS, MAX_TIMEOUT) : 0 },
    { to: 'all', self: options.includeSelf ?? false, relayDeadline: finite ? timeout : undefined },
  )) as RelayedRow[];
  return Promise.all(rows.map((row) => toResult(self, method, def.output, row)));
}

async function toResult(
  self: Gatherer,
  method: string,
  output: ProcedureDef['output'] | undefined,
  row: RelayedRow,
): Promise<GatherResult<unknown>> {
  const base = { id: row.id, pid: row.pid };
  if (!row.ok) {
    const error = row.b
      ? busErrorFromWire(row.error, `call "${method}" to worker ${row.id}`)
      : new RemoteError(
          `call "${method}" to worker ${row.id} failed: ${row.error.name}: ${row.error.message}`,
          row.error,
        );
    return { ...base, ok: false, error: error as RemoteError };
  }
  try {
    const value = output
      ? await validate(output, row.value, {
          what: 'output',
          subject: `call "${method}"`,
          side: `on worker ${self.id} on receipt from worker ${row.id}`,
        })
      : row.value;
    return { ...base, ok: true, value };
  } catch (error) {
    return { ...base, ok: false, error: error as RemoteError };
  }
}
