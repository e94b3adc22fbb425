/**
 * The options of a worker bus and of its methods, and the names each accepts (an unknown name is
 * a TypeError, see `options-check.ts`). Their own module so that each list of names sits next to
 * the type the compiler checks it against, and the bus reads as what it does.
 */
import type { HandlerContext } from '../call.js';
import type { Contract, HandlerInput, HandlerOutput, WorkerProcedures } from '../contract.js';
import { optionNames } from '../options-check.js';
import type { Transport, TransportOptions } from '../transports/transport.js';
import type { GatherOptions } from './gather.js';
import type { WorkerLifecycleOptions } from './worker-lifecycle.js';

/** Handlers for the procedures every worker serves, typed from the contract. */
export type WorkerHandlers<C> = {
  [M in keyof WorkerProcedures<C>]: (
    input: HandlerInput<WorkerProcedures<C>[M]>,
    ctx: HandlerContext,
  ) => HandlerOutput<WorkerProcedures<C>[M]> | Promise<HandlerOutput<WorkerProcedures<C>[M]>>;
};

/** Options of {@link createWorkerBus}. */
export interface WorkerBusOptions<C> extends TransportOptions, WorkerLifecycleOptions {
  /** Handlers for the procedures in `contract.worker`. */
  handlers?: Partial<WorkerHandlers<C>>;
  /**
   * Default timeout of every call, in ms; `0` or `Infinity` waits forever.
   * @default 30000
   */
  timeout?: number;
  /**
   * The channel to the primary.
   * @default this process's IPC channel (`process.send`); none when the process has no IPC
   * channel (plain `node worker.js`): the bus then runs standalone (see {@link WorkerBus.ready})
   */
  transport?: Transport;
  /**
   * When this worker was not forked by a clusterbus supervisor but has an IPC channel (PM2, or a
   * `createPrimaryBus` primary forking it itself), how long to wait for a clusterbus primary's
   * handshake, in ms. Under PM2 the bus then goes standalone (calls to the primary fail with
   * NO_PRIMARY); elsewhere `ready()` rejects with NO_PRIMARY, calls and events to the primary fail
   * with NO_PRIMARY at once instead of waiting out their timeout, and a late primary is still welcome.
   * @default 1000 under PM2, 10000 otherwise
   */
  helloTimeout?: number;
}

/** Options of {@link WorkerBus.callPeers}. */
export interface PeerGatherOptions extends GatherOptions {
  /** Also call this worker itself. @default false */
  includeSelf?: boolean;
}

/** Options of {@link WorkerBus.broadcast}. */
export interface WorkerBroadcastOptions {
  /** Deliver a copy to this worker too. @default false */
  includeSelf?: boolean;
}

/** @internal The names of {@link WorkerBusOptions}. */
export const WORKER_BUS_OPTION_NAMES = optionNames<WorkerBusOptions<Contract>>({
  handlers: true,
  timeout: true,
  transport: true,
  helloTimeout: true,
  maxPendingSends: true,
  ignoreSignals: true,
  exitAfterDrain: true,
  shutdownTimeout: true,
});

/** @internal The names of {@link PeerGatherOptions}. */
export const PEER_GATHER_OPTION_NAMES = optionNames<PeerGatherOptions>({
  timeout: true,
  signal: true,
  includeSelf: true,
});

/** @internal The names of {@link WorkerBroadcastOptions}. */
export const WORKER_BROADCAST_OPTION_NAMES = optionNames<WorkerBroadcastOptions>({ includeSelf: true });
