/**
 * The bookkeeping every transport shares: the outbound bound, error mapping, listener sets and
 * the close latch. Adapters only say how to write one message and how to listen.
 */
import { OverloadedError, PeerGoneError, ValidationError } from '../errors.js';
import type { Message } from '../protocol.js';
import { resolveMaxPendingSends, type Transport, type TransportOptions } from './transport.js';

/** What an adapter provides: a raw channel. */
export interface RawChannel {
  /** Human name for error messages, e.g. `worker 3 (pid 1234)`. */
  readonly name: string;
  /** True while the channel can carry messages. */
  isOpen(): boolean;
  /** Writes one message; calls `done` once written or failed. May throw synchronously (serialization). */
  write(message: Message, done: (error?: Error | null) => void): void;
  /**
   * Starts listening; calls `message` for every incoming value and `close` when the channel is
   * gone. Returns the function that stops listening.
   */
  listen(message: (value: unknown) => void, close: (reason: string) => void): () => void;
}

/** Codes Node uses when the other end of the channel is gone. */
const GONE_CODES = new Set(['ERR_IPC_CHANNEL_CLOSED', 'EPIPE', 'ECONNRESET', 'ERR_IPC_DISCONNECTED']);

/** Wraps a {@link RawChannel} into a {@link Transport}. */
export function createTransport(channel: RawChannel, options?: TransportOptions): Transport {
  const maxPending = resolveMaxPendingSends(options);
  const messageListeners = new Set<(value: unknown) => void>();
  const closeListeners = new Set<(reason: string) => void>();
  let closed = false;
  let pending = 0;
  let flushWaiters: Array<() => void> = [];

  const settleOne = () => {
    pending--;
    if (pending === 0 && flushWaiters.length > 0) {
      const waiters = flushWaiters;
      flushWaiters = [];
      for (const wake of waiters) wake();
    }
  };

  const markClosed = (reason: string) => {
    if (closed) return;
    closed = true;
    for (const listener of [...closeListeners]) listener(reason);
    closeListeners.clear();
  };

  const stopListening = channel.listen(
    (value) => {
      for (const listener of messageListeners) listener(value);
    },
    (reason) => markClosed(reason),
  );

  // Attached after the channel already died (a worker that exited before `attach()`): no close
  // event will ever come, so close now and let the bus fail its calls with PEER_GONE.
  if (!channel.isOpen()) markClosed('closed before it was attached');

  const goneError = (cause?: unknown) =>
    new PeerGoneError(`cannot send to ${channel.name}: the IPC channel is closed`, cause ? { cause } : {});

  const post = (message: Message, done: (error?: Error) => void): void => {
    if (closed || !channel.isOpen()) {
      done(goneError());
      return;
    }
    if (pending >= maxPending) {
      done(
        new OverloadedError(
          `cannot send to ${channel.name}: ${pending} messages are waiting for the channel (maxPendingSends ${maxPending}); the receiver is not keeping up`,
        ),
      );
      return;
    }
    pending++;
    try {
      channel.write(message, (error) => {
        settleOne();
        if (!error) {
          done();
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        done(code && GONE_CODES.has(code) ? goneError(error) : error);
      });
    } catch (error) {
      settleOne();
      const code = (error as NodeJS.ErrnoException).code;
      if (code && GONE_CODES.has(code)) {
        done(goneError(error));
        return;
      }
      // Serialization failures (BigInt under json, functions, cyclic values) throw synchronously.
      done(
        new ValidationError(
          `cannot send to ${channel.name}: the message could not be serialized (${(error as Error).message}); send plain data or switch the cluster's serialization to "advanced"`,
          { cause: error },
        ),
      );
    }
  };

  return {
    post,
    send(message) {
      return new Promise<void>((resolve, reject) =>
        post(message, (error) => (error ? reject(error) : resolve())),
      );
    },
    onMessage(listener) {
      messageListeners.add(listener);
      return () => messageListeners.delete(listener);
    },
    onClose(listener) {
      if (closed) {
        queueMicrotask(() => listener('closed'));
        return () => {};
      }
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
    get closed() {
      return closed || !channel.isOpen();
    },
    get pendingSends() {
      return pending;
    },
    flush() {
      if (pending === 0) return Promise.resolve();
      return new Promise((resolve) => flushWaiters.push(resolve));
    },
    dispose() {
      stopListening();
      messageListeners.clear();
      closeListeners.clear();
    },
  };
}
