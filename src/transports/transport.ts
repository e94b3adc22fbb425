/**
 * The one interface between the bus and a channel. Only transports touch `send`; every message
 * of one link goes through its transport's single outbound path, so bounds and error handling
 * live in one place.
 */
import type { Message } from '../protocol.js';

/** One end of one channel. */
export interface Transport {
  /**
   * Writes one message. Resolves once the channel accepted it (written, not received: only a
   * reply proves receipt). Rejects with PEER_GONE when the channel is closed, VALIDATION when the
   * message cannot be serialized, and OVERLOADED when the outbound bound is hit — only ever for
   * new work (requests, events): replies, cancels and control messages are owed and always go out.
   * Never throws.
   */
  send(message: Message): Promise<void>;
  /**
   * The same as {@link send} without a promise: `done` is called once, with the error if any.
   * The bus's hot path uses it to save an allocation per message.
   */
  post(message: Message, done: (error?: Error) => void): void;
  /** Subscribes to every incoming value, ours and foreign. Returns the unsubscribe function. */
  onMessage(listener: (value: unknown) => void): () => void;
  /** Subscribes to the channel closing (fires at most once). Returns the unsubscribe function. */
  onClose(listener: (reason: string) => void): () => void;
  /** True once the channel is gone. */
  readonly closed: boolean;
  /** Messages accepted by `send` and not yet written (queued for this turn, or waiting for the channel). */
  readonly pendingSends: number;
  /** Resolves when every accepted message has been written (or failed). */
  flush(): Promise<void>;
  /** Removes this transport's listeners from the channel. Does not close the channel itself. */
  dispose(): void;
  /**
   * Lets the transport coalesce what is posted in one turn into batch envelopes (`true`), or
   * makes it send single messages (`false`, the initial state). The peer calls it once the other
   * end's hello said whether it reads batches. Optional: a transport without it sends singles.
   */
  useBatches?(enabled: boolean): void;
}

/** Options every transport adapter accepts. */
export interface TransportOptions {
  /**
   * How many messages may wait for the channel before new requests and events are refused with
   * OVERLOADED. Node queues without bound when `send` returns `false`; this is the bound. It
   * counts what the channel could not take at once (a burst written to an idle, fast receiver is
   * never refused), and never refuses replies, cancels or control messages.
   * @default 10000
   */
  maxPendingSends?: number;
}

/** @internal */
export const DEFAULT_MAX_PENDING_SENDS = 10_000;

/**
 * Options of the transport adapters (`clusterWorkerTransport`, `processTransport`, …): the
 * bus-level {@link TransportOptions} plus the batch cap, for a transport made by hand.
 */
export interface ChannelOptions extends TransportOptions {
  /**
   * Upper bound, in estimated serialized bytes, of one batch envelope (what one link posted in one
   * turn, sent in one write once the other end said it reads batches). A message estimated at a
   * quarter of this or more goes alone, so it never holds up the small ones around it. `0` never
   * batches. A channel may lower it (see `RawChannel.maxBatchBytes`).
   * @default 65536
   */
  maxBatchBytes?: number;
}

/** @internal */
export const DEFAULT_MAX_BATCH_BYTES = 65_536;

/** @internal Eager option check shared by the adapters. */
export function resolveMaxBatchBytes(options: ChannelOptions | undefined): number {
  const value = options?.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`maxBatchBytes must be an integer >= 0 (0: never batch), got ${String(value)}`);
  }
  return value;
}

/** @internal Eager option check shared by the adapters. */
export function resolveMaxPendingSends(options: TransportOptions | undefined): number {
  const value = options?.maxPendingSends ?? DEFAULT_MAX_PENDING_SENDS;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`maxPendingSends must be a positive integer, got ${String(value)}`);
  }
  return value;
}
