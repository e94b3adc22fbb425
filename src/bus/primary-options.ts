/**
 * The options of the primary's bus and of its methods, and the names each accepts (an unknown
 * name is a TypeError, see `options-check.ts`). Their own module so that each list of names sits
 * next to the type the compiler checks it against, and the bus reads as what it does.
 */
import type { HandlerContext, WorkerCaller } from '../call.js';
import type { Contract, HandlerInput, HandlerOutput, PrimaryProcedures } from '../contract.js';
import { optionNames } from '../options-check.js';
import type { TransportOptions } from '../transports/transport.js';

/** Handlers for the procedures the primary serves, typed from the contract. */
export type PrimaryHandlers<C> = {
  [M in keyof PrimaryProcedures<C>]: (
    input: HandlerInput<PrimaryProcedures<C>[M]>,
    // Only workers call the primary.
    ctx: HandlerContext<WorkerCaller>,
  ) => HandlerOutput<PrimaryProcedures<C>[M]> | Promise<HandlerOutput<PrimaryProcedures<C>[M]>>;
};

/** Options of {@link createPrimaryBus}. */
export interface PrimaryBusOptions<C> extends TransportOptions {
  /** Handlers for every procedure in `contract.primary`. */
  handlers?: Partial<PrimaryHandlers<C>>;
  /**
   * Default timeout of every call, in ms; `0` or `Infinity` waits forever.
   * @default 30000
   */
  timeout?: number;
  /**
   * Attach to every worker `cluster.fork()` creates, and to those already forked.
   * Set `false` to attach yourself with {@link PrimaryBus.attach}.
   * @default true
   */
  autoAttach?: boolean;
}

/** Options of {@link PrimaryBus.broadcast}. */
export interface BroadcastOptions {
  /** Also send to workers that are still starting (not yet `ready()`). @default false */
  includeStarting?: boolean;
}

/** @internal The names of {@link PrimaryBusOptions}. */
export const PRIMARY_BUS_OPTION_NAMES = optionNames<PrimaryBusOptions<Contract>>({
  handlers: true,
  timeout: true,
  autoAttach: true,
  maxPendingSends: true,
});

/** @internal The names of {@link BroadcastOptions}. */
export const BROADCAST_OPTION_NAMES = optionNames<BroadcastOptions>({ includeStarting: true });
