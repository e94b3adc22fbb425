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

/** @internal Eager option check shared by the adapters. */
export function resolveMaxPendingSends(options: TransportOptions | undefined): number {
  const value = options?.maxPendingSends ?? DEFAULT_MAX_PENDING_SENDS;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`maxPendingSends must be a positive integer, got ${String(value)}`);
  }
  return value;
}
