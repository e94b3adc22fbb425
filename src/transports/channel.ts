/**
 * The one outbound path of a link, and the bookkeeping every transport shares: the tick queue,
 * the send bound, error mapping, listener sets and the close latch. Adapters only say how to
 * write one value and how to listen.
 *
 * Everything posted in one turn of the event loop is queued and written at the end of that turn
 * (a microtask, never a timer), in order. The send bound counts only what is really
 * waiting for the channel: Node calls a send's callback a tick after a write that completed at
 * once, so counting until the callback would refuse a burst to an idle, fast receiver.
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

type Done = (error?: Error) => void;

/** One write handed to the channel: how many messages it carries, and where its count lives. */
interface Write {
  readonly count: number;
  /** Still not called back at the end of the turn it was written in: really waiting for the channel. */
  waiting: boolean;
  settled: boolean;
}

/** Codes Node uses when the other end of the channel is gone. */
const GONE_CODES = new Set(['ERR_IPC_CHANNEL_CLOSED', 'EPIPE', 'ECONNRESET', 'ERR_IPC_DISCONNECTED']);

/** Only new work may be refused by the bound; replies, cancels and control are owed (trap 11). */
function isNewWork(message: Message): boolean {
  return message.k === 'req' || message.k === 'evt';
}

/** Wraps a {@link RawChannel} into a {@link Transport}. */
export function createTransport(channel: RawChannel, options?: TransportOptions): Transport {
  const maxPending = resolveMaxPendingSends(options);
  const messageListeners = new Set<(value: unknown) => void>();
  const closeListeners = new Set<(reason: string) => void>();
  let closed = false;
  // Posted this turn, written at its end.
  let queue: Message[] = [];
  let callbacks: Done[] = [];
  let scheduled = false;
  // Written this turn: a write that completed at once is called back on the next tick, so these
  // are not known to be waiting until the end-of-turn check.
  let unconfirmed = 0;
  let fresh: Write[] = [];
  let checkScheduled = false;
  // Written, and still not called back after the turn ended: what the channel really holds.
  let waiting = 0;
  let flushWaiters: Array<() => void> = [];

  const pendingCount = () => queue.length + unconfirmed + waiting;

  const wakeFlushWaiters = () => {
    if (flushWaiters.length === 0 || pendingCount() > 0) return;
    const waiters = flushWaiters;
    flushWaiters = [];
    for (const wake of waiters) wake();
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

  const writeFailure = (error: unknown): Error => {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    return code && GONE_CODES.has(code) ? goneError(error) : (error as Error);
  };

  const serializeFailure = (error: unknown): Error => {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (code && GONE_CODES.has(code)) return goneError(error);
    // Serialization failures (BigInt under json, functions, cyclic values) throw synchronously.
    return new ValidationError(
      `cannot send to ${channel.name}: the message could not be serialized (${(error as Error)?.message}); send plain data or switch the cluster's serialization to "advanced"`,
      { cause: error },
    );
  };

  const settle = (write: Write) => {
    if (write.settled) return;
    write.settled = true;
    if (write.waiting) waiting -= write.count;
    else unconfirmed -= write.count;
  };

  // Runs after the callbacks Node queued for the writes that completed at once: what is still
  // unsettled is really waiting for the channel.
  const confirmWaiting = () => {
    checkScheduled = false;
    const writes = fresh;
    fresh = [];
    for (const write of writes) {
      if (write.settled) continue;
      write.waiting = true;
      unconfirmed -= write.count;
      waiting += write.count;
    }
  };

  const track = (count: number): Write => {
    const write: Write = { count, waiting: false, settled: false };
    unconfirmed += count;
    fresh.push(write);
    if (!checkScheduled) {
      checkScheduled = true;
      process.nextTick(confirmWaiting);
    }
    return write;
  };

  const writeOne = (message: Message, done: Done) => {
    const write = track(1);
    try {
      channel.write(message, (error) => {
        settle(write);
        done(error ? writeFailure(error) : undefined);
        wakeFlushWaiters();
      });
    } catch (error) {
      settle(write);
      done(serializeFailure(error));
    }
  };

  const flushQueue = () => {
    scheduled = false;
    const messages = queue;
    const dones = callbacks;
    queue = [];
    callbacks = [];
    const open = !closed && channel.isOpen();
    for (let i = 0; i < messages.length; i++) {
      if (open) writeOne(messages[i]!, dones[i]!);
      else dones[i]!(goneError());
    }
    wakeFlushWaiters();
  };

  const post = (message: Message, done: Done): void => {
    if (closed || !channel.isOpen()) {
      done(goneError());
      return;
    }
    // A burst in one turn to an idle channel is fine; only a channel that already holds writes it
    // could not take at once is backed up, and then what is queued behind it counts too.
    if (waiting > 0 && isNewWork(message) && pendingCount() >= maxPending) {
      done(
        new OverloadedError(
          `cannot send to ${channel.name}: ${pendingCount()} messages are waiting for the channel (maxPendingSends ${maxPending}); the receiver is not keeping up`,
        ),
      );
      return;
    }
    queue.push(message);
    callbacks.push(done);
    if (!scheduled) {
      scheduled = true;
      // A microtask: after the synchronous code that posted (and the replies of a whole batch
      // served in one go), before any I/O. Never a timer: coalescing must add no latency.
      queueMicrotask(flushQueue);
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
      return pendingCount();
    },
    flush() {
      if (pendingCount() === 0) return Promise.resolve();
      return new Promise((resolve) => flushWaiters.push(resolve));
    },
    dispose() {
      stopListening();
      messageListeners.clear();
      closeListeners.clear();
    },
  };
}
