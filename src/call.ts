/**
 * The vocabulary of one call, shared by the peer and the buses: who calls, the options a caller
 * passes, how a bus routes it, and the context a handler receives.
 */
import type { ProcedureDef } from './contract.js';

/** The primary, calling a worker's handler. */
export type PrimaryCaller = { kind: 'primary' };
/** A worker, calling the primary's handler or (relayed by the primary) another worker's. */
export type WorkerCaller = { kind: 'worker'; id: number; pid?: number | undefined };
/** Who made a call, as its handler sees it. */
export type Caller = PrimaryCaller | WorkerCaller;

/**
 * The second argument of every handler. The primary's handlers get `HandlerContext<WorkerCaller>`
 * (only workers call the primary), so `ctx.caller.id` needs no narrowing there; a worker's
 * handlers get the union (the primary, or another worker through it).
 */
export interface HandlerContext<Who extends Caller = Caller> {
  /** Aborted when the caller aborts, its timeout passes, it goes away, or this bus closes. */
  signal: AbortSignal;
  /** Who is calling. */
  caller: Who;
  /** The procedure name. */
  method: string;
  /** The call's correlation id: `<caller instance>:<counter>`, unique across respawns and restarts. */
  readonly callId: string;
}

/** Per-call options. */
export interface CallOptions {
  /**
   * Milliseconds to wait for the reply; `0` or `Infinity` waits forever.
   * @default the bus's `timeout` (30 000 ms unless set)
   */
  timeout?: number;
  /** Aborting rejects the call with ABORTED at once and aborts the handler's `ctx.signal`. */
  signal?: AbortSignal;
}

/**
 * How a call is routed and checked, beyond the caller's own {@link CallOptions}. Buses keep one per
 * method (it is the same for every call), so the hot path allocates nothing for it.
 */
export interface CallRoute {
  /** The procedure's schemas, for validation on both sides of the wire. Omit for unvalidated calls. */
  def?: ProcedureDef | undefined;
  /** The input was validated against `def` already (a gather checks it once for every worker). */
  inputChecked?: boolean;
  /** Ask the primary to relay the call. */
  to?: number | 'all';
  /** Fleet mode: with `to`, the host whose worker it is. */
  host?: string;
  /** With `to: 'all'`, include the caller. */
  self?: boolean;
  /** How the error messages name the call target, when relayed. */
  targetName?: string;
  /** Set by the primary's relay: the worker the call came from. */
  relayFrom?: number;
  /** The deadline a relaying primary enforces per worker of a gather (defaults to `timeout`). */
  relayDeadline?: number | undefined;
  /** Resolve with the other end's raw reply instead of settling (the primary's relay). */
  forward?: boolean;
}

/** Milliseconds; the default of every bus's `timeout` option. */
export const DEFAULT_TIMEOUT = 30_000;

/** True for a timeout that arms a timer (not 0, not Infinity). */
export function isFiniteTimeout(timeout: number): boolean {
  return timeout > 0 && timeout !== Number.POSITIVE_INFINITY;
}

/**
 * The longest delay a Node timer takes: a longer one fires after 1 ms (with a warning), so a
 * timeout past it would expire at once, or spin re-arming.
 */
export const MAX_TIMEOUT = 2 ** 31 - 1;

/** Eagerly rejects a bad timeout option. */
export function assertTimeout(timeout: unknown, where: string): asserts timeout is number {
  if (
    typeof timeout !== 'number' ||
    Number.isNaN(timeout) ||
    timeout < 0 ||
    (timeout > MAX_TIMEOUT && timeout !== Number.POSITIVE_INFINITY)
  ) {
    throw new RangeError(
      `${where}: timeout must be a number of milliseconds from 0 to ${MAX_TIMEOUT} (about 24.8 days), or 0 or Infinity for none, got ${String(timeout)}`,
    );
  }
}

/** What a served procedure resolves to: its definition and the function that runs it. */
export interface ServedProcedure {
  /** The procedure's schemas: input checked on receipt, output before replying. */
  def: ProcedureDef;
  /** The user's handler. */
  handler: (input: any, ctx: HandlerContext) => unknown;
}
